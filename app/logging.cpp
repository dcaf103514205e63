#include "logging.h"

#include <spdlog/async.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <stdexcept>

namespace beckon::app {

namespace {

// %* in a pattern: the message as the inside of a JSON string.
class JsonEscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr char hex[] = "0123456789abcdef";
    for (char ch : msg.payload) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(ch);
      } else if (c < 0x20) {
        const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        dest.append(esc, esc + sizeof esc);
      } else {
        dest.push_back(ch);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedMessage>();
  }
};

}  // namespace

void setLogLevel(const std::string& level) {
  const auto l = spdlog::level::from_str(level);
  if (l == spdlog::level::off && level != "off") throw std::invalid_argument("log level " + level);
  spdlog::set_level(l);
}

void setUpLogging(const std::string& level, const std::string& format) {
  auto logger = std::make_shared<spdlog::logger>("beckond",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (format == "json") {
    formatter->add_flag<JsonEscapedMessage>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","thread":%t,"msg":"%*"})");
  } else if (format == "plain") {
    formatter->set_pattern("%Y-%m-%d %H:%M:%S.%e %L %v");
  } else {
    throw std::invalid_argument("log format " + format);
  }
  logger->set_formatter(std::move(formatter));
  spdlog::set_default_logger(logger);
  setLogLevel(level);
}

void stopLogging() {
  spdlog::shutdown();
}

}  // namespace beckon::app
