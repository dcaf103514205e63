// Log lines are "what happened key=value key=value ...". A value that is
// empty or holds a space, a double quote, an equals sign, a backslash or a
// control character is written in double quotes, with \" \\ \n \r \t
// escapes (other control characters become '?'):
//   spdlog::info("notify request={} status={} reason={}", quoted(id), 200, quoted(phrase));
// In JSON mode (app/logging.cpp) every key=value becomes a member of the
// line's object, so the keys are the fields operators search by.
#pragma once

#include <spdlog/fmt/fmt.h>

#include <string_view>

namespace beckon {

struct Quoted {
  std::string_view text;
};

// Quoted (when needed) at format time: nothing is copied or allocated for a
// line below the log level.
inline Quoted quoted(std::string_view text) {
  return {text};
}

}  // namespace beckon

template <>
struct fmt::formatter<beckon::Quoted> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }

  template <class Context>
  auto format(const beckon::Quoted& q, Context& ctx) const {
    auto out = ctx.out();
    bool plain = !q.text.empty();
    for (char c : q.text) {
      const auto u = static_cast<unsigned char>(c);
      if (u <= ' ' || u == 0x7f || c == '"' || c == '=' || c == '\\') {
        plain = false;
        break;
      }
    }
    if (plain) return std::copy(q.text.begin(), q.text.end(), out);
    *out++ = '"';
    for (char c : q.text) {
      const auto u = static_cast<unsigned char>(c);
      const char* escape = c == '"'    ? "\\\""
                           : c == '\\' ? "\\\\"
                           : c == '\n' ? "\\n"
                           : c == '\r' ? "\\r"
                           : c == '\t' ? "\\t"
                                       : nullptr;
      if (escape) {
        for (const char* e = escape; *e; ++e)
          *out++ = *e;
      } else {
        *out++ = (u < ' ' || u == 0x7f) ? '?' : c;
      }
    }
    *out++ = '"';
    return out;
  }
};
