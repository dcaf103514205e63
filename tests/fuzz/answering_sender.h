// The fuzz harnesses that run a core: its NOTIFYs go nowhere and are
// answered 200 at once.
#pragma once

#include <functional>

#include "ports.h"

namespace beckon::fuzz {

class AnsweringSender final : public NotifySender {
 public:
  void send(const Binding&, const OutgoingNotify&,
            std::function<void(const NotifyOutcome&)> done) override {
    done({200, "OK"});
  }
};

}  // namespace beckon::fuzz
