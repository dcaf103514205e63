// Names threads, as `top -H`, `ps -L`, /proc/PID/task/*/comm and gdb show
// them. Linux keeps the first 15 characters.
#pragma once

#include <pthread.h>

#include <string>
#include <thread>
#include <utility>

namespace beckon {

inline void nameThisThread(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

// A thread that names itself `name`, then runs `body`.
template <class F>
std::thread namedThread(std::string name, F body) {
  return std::thread([name = std::move(name), body = std::move(body)]() mutable {
    nameThisThread(name);
    body();
  });
}

}  // namespace beckon
