"""Where the binaries are, and the constants every test module shares
(loopback addresses, the domain, the package, time bounds). See harness.py
for the environment variables.
"""
from __future__ import annotations

import importlib
import os
import shutil
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios"
_BUILD_BIN = HERE.parent.parent / "build" / "bin"

# Relative paths are taken from the current directory now: beckond runs in
# its work directory.
BECKOND = os.path.abspath(os.environ.get("BECKOND") or str(_BUILD_BIN / "beckond"))
BECKON = os.path.abspath(os.environ.get("BECKON") or str(_BUILD_BIN / "beckon"))
SIPP = os.environ.get("SIPP") or shutil.which("sipp") or "/usr/bin/sipp"
OPENSSL = os.environ.get("OPENSSL") or shutil.which("openssl") or "/usr/bin/openssl"

# zeep 4.2.1 imports cgi, deprecated in Python 3.11: not ours to fix. Import
# it here, before unittest resets the warning filters.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        importlib.import_module("zeep")
    except ImportError:  # test_scenarios.py needs no zeep
        pass

LOOPBACK = "127.0.0.1"
# Where the devices' Contacts claim to be, as behind NAT: on loopback (never
# a real private or public address), and nobody listens there. A NOTIFY sent
# there instead of to the registration's flow never reaches the device.
FAKE_NAT_HOSTPORT = "127.0.0.2:5999"
DOMAIN = "example.com"
PACKAGE = "application-server-contact-me"
NS = "urn:beckon:contact-me:1"

READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
# Bound for one SIPp run (-timeout). device.xml itself gives up 30 s after
# registering.
SIPP_TIMEOUT_S = 45
