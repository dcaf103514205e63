// Names the calling thread, as `top -H`, `ps -L`, /proc/PID/task/*/comm and
// gdb show it. Linux keeps the first 15 characters.
#pragma once

#include <pthread.h>

#include <string>

namespace beckon {

inline void nameThisThread(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace beckon
