// Shared by the fuzz harnesses (tests/fuzz/fuzz_*.cpp). Each harness is a
// libFuzzer target: LLVMFuzzerTestOneInput() gets one input; it must not
// crash, leak or hit undefined behaviour, and FUZZ_CHECK states what else
// must hold (a failed check aborts, which the fuzzer reports as a crash).
// The same sources build against libFuzzer (clang, BECKON_FUZZ=ON) and
// against driver.cpp (g++, the CI smoke).
#pragma once

#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
// Optional (weak): only harnesses that set something up define it.
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

#define FUZZ_CHECK(cond, ...)                                                              \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                                   \
      std::fputc('\n', stderr);                                                            \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)

namespace beckon::fuzz {

inline std::string_view asText(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The input cut at NUL bytes: several fields from one input.
inline std::vector<std::string> fields(std::string_view text, std::size_t max) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (out.size() + 1 < max) {
    const std::size_t nul = text.find('\0', at);
    if (nul == std::string_view::npos) break;
    out.emplace_back(text.substr(at, nul - at));
    at = nul + 1;
  }
  out.emplace_back(text.substr(at));
  return out;
}

// poll() for one descriptor, again after a signal (libFuzzer's timers
// interrupt system calls): true when `events` came within `timeoutMs`.
inline bool waitFor(int fd, short events, long timeoutMs) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left));
    if (n == 1) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

// Printable, for messages of failed checks.
inline std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

}  // namespace beckon::fuzz
