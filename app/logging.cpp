#include "logging.h"

#include "utf8.h"

#include <spdlog/async.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace beckon::app {

namespace {

// Lines waiting for the logging thread; when it cannot keep up, loggers
// wait (a line is never dropped), which is no slower than logging in place.
constexpr std::size_t kQueuedLines = 16384;

// A JSON string: quotes, backslashes and control characters escaped, and
// bytes that are not UTF-8 (a device's reason phrase may hold any) as the
// text \xNN, as in plain lines, so that every line is valid JSON.
void appendJsonString(spdlog::memory_buf_t& dest, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  dest.push_back('"');
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      dest.push_back('\\');
      dest.push_back(text[i++]);
    } else if (c < 0x20 || c == 0x7f) {
      const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      dest.append(esc, esc + sizeof esc);
      ++i;
    } else if (const std::size_t n = utf8Length(text, i)) {
      dest.append(text.substr(i, n));
      i += n;
    } else {
      const char esc[] = {'\\', '\\', 'x', hex[c >> 4], hex[c & 15]};
      dest.append(esc, esc + sizeof esc);
      ++i;
    }
  }
  dest.push_back('"');
}

bool keyStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool keyChar(char c) {
  return keyStart(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

}  // namespace

void appendJsonFields(spdlog::memory_buf_t& dest, std::string_view msg) {
  dest.append(std::string_view("\"msg\":"));
  appendJsonString(dest, msg);
  static constexpr std::string_view kReserved[] = {"time", "level", "thread", "msg"};
  std::vector<std::string_view> seen;
  const std::size_t n = msg.size();
  std::size_t i = 0;
  while (i < n) {
    while (i < n && msg[i] == ' ')
      ++i;
    std::size_t j = i;
    while (j < n && keyChar(msg[j]))
      ++j;
    if (j == i || j >= n || msg[j] != '=' || !keyStart(msg[i])) {
      while (i < n && msg[i] != ' ')  // not key=value: a word of the text
        ++i;
      continue;
    }
    const std::string_view key = msg.substr(i, j - i);
    bool keep = true;
    for (auto r : kReserved)
      keep = keep && key != r;
    for (auto k : seen)
      keep = keep && key != k;
    i = j + 1;
    std::string_view value;
    std::string unescaped;
    if (i < n && msg[i] == '"') {
      // A quoted value (logfmt.h): \" \\ \n \r \t escapes, up to the closing quote.
      for (++i; i < n && msg[i] != '"'; ++i) {
        char c = msg[i];
        if (c == '\\' && i + 1 < n) {
          const char e = msg[++i];
          c = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e;
        }
        unescaped.push_back(c);
      }
      ++i;  // the closing quote
      value = unescaped;
    } else {
      const std::size_t start = i;
      while (i < n && msg[i] != ' ')
        ++i;
      value = msg.substr(start, i - start);
    }
    if (!keep) continue;
    seen.push_back(key);
    dest.append(std::string_view(",\""));
    dest.append(key);
    dest.append(std::string_view("\":"));
    appendJsonString(dest, value);
  }
}

namespace {

// %* in a pattern: "msg":"<the message>" and then every key=value of the
// message as a member of its own (string values).
class JsonMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    appendJsonFields(dest, std::string_view(msg.payload.data(), msg.payload.size()));
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessage>();
  }
};

// %* in the plain pattern: the message, with bytes that are not UTF-8 as
// \xNN (notifier/utf8.h).
class PlainMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string_view text(msg.payload.data(), msg.payload.size());
    if (validUtf8(text)) return dest.append(text);
    std::string escaped;
    appendUtf8Escaped(escaped, text);
    dest.append(escaped);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<PlainMessage>();
  }
};

}  // namespace

void setLogLevel(const std::string& level) {
  const auto l = spdlog::level::from_str(level);
  if (l == spdlog::level::off && level != "off") throw std::invalid_argument("log level " + level);
  spdlog::set_level(l);
}

void setUpLogging(const std::string& level, const std::string& format) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (format == "json") {
    formatter->add_flag<JsonMessage>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","thread":%t,%*})");
  } else if (format == "plain") {
    formatter->add_flag<PlainMessage>('*').set_pattern("%Y-%m-%d %H:%M:%S.%e %L %*");
  } else {
    throw std::invalid_argument("log format " + format);
  }
  // Lines are formatted and written by one logging thread, off the SIP
  // thread and the SOAP workers.
  spdlog::init_thread_pool(kQueuedLines, 1);
  auto logger = std::make_shared<spdlog::async_logger>(
      "beckond", std::make_shared<spdlog::sinks::stderr_sink_mt>(), spdlog::thread_pool(),
      spdlog::async_overflow_policy::block);
  logger->set_formatter(std::move(formatter));
  spdlog::set_default_logger(logger);
  setLogLevel(level);
}

void stopLogging() {
  spdlog::shutdown();
}

}  // namespace beckon::app
