"""Prints a port free on 127.0.0.1 for both UDP and TCP."""
import socket

for _ in range(100):
    t = socket.socket()
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
        print(port)
        break
    except OSError:
        pass
    finally:
        t.close()
        u.close()
