#include "boundary.h"

#include <spdlog/spdlog.h>

#include <new>
#include <stdexcept>

#include "logfmt.h"
#include "utf8.h"

namespace beckon {

namespace {

std::array<std::atomic<std::uint64_t>, kBoundaries> caught{};

}  // namespace

BoundaryName nameOf(Boundary b) {
  switch (b) {
    case Boundary::SipRequest:
      return {"sip", "request"};
    case Boundary::SipResponse:
      return {"sip", "response"};
    case Boundary::SipTimer:
      return {"sip", "timer"};
    case Boundary::SipJob:
      return {"sip", "job"};
    case Boundary::SoapRequest:
      return {"soap", "request"};
    case Boundary::Notice:
      return {"notice", "send"};
    case Boundary::StoreCommit:
      return {"store", "commit"};
    case Boundary::StoreEncode:
      return {"store", "encode"};
    case Boundary::Push:
      return {"push", "send"};
  }
  return {"unknown", "unknown"};
}

std::uint64_t caughtAt(Boundary b) {
  return caught[static_cast<std::size_t>(b)].load(std::memory_order_relaxed);
}

void reportCaught(Boundary b, std::string_view keys) noexcept {
  caught[static_cast<std::size_t>(b)].fetch_add(1, std::memory_order_relaxed);
  try {
    std::string what = "an exception that is not a std::exception";
    try {
      throw;
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    // what() may quote wire bytes (a parser's message): the line stays UTF-8.
    std::string safe;
    appendUtf8Escaped(safe, what);
    const BoundaryName n = nameOf(b);
    spdlog::error("exception caught thread={} where={} what={}{}{}", n.thread, n.where,
                  quoted(safe), keys.empty() ? "" : " ", keys);
  } catch (...) {  // no memory even for the line: the count says it
  }
}

}  // namespace beckon
