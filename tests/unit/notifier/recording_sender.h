// A NotifySender for tests: records NOTIFYs; the test answers them when it wants.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ports.h"

namespace beckon {

class RecordingSender final : public NotifySender {
 public:
  struct Sent {
    std::uint64_t bindingId;
    OutgoingNotify notify;
    std::function<void(const NotifyOutcome&)> done;
  };
  void send(const Binding& b, const OutgoingNotify& n,
            std::function<void(const NotifyOutcome&)> done) override {
    sent.push_back({b.id, n, std::move(done)});
  }
  void answer(std::size_t i, int status, std::string reason = "") {
    auto done = std::move(sent.at(i).done);
    done({status, std::move(reason)});
  }
  std::vector<Sent> sent;
};

}  // namespace beckon
