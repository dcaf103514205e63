#include "flow.h"

namespace beckon::sip {

SipFlow::SipFlow(FlowRegistry& registry, tport_t* connection)
    : registry_(registry), connection_(connection ? tport_ref(connection) : nullptr) {
  registry_.add(this);
}

SipFlow::~SipFlow() {
  release();
  registry_.erase(this);
}

void SipFlow::release() {
  if (connection_) tport_unref(connection_);
  connection_ = nullptr;
}

std::string urlString(const url_t* url) {
  Home home;
  char* s = url_as_string(home.get(), url);
  return s ? std::string(s) : std::string();
}

}  // namespace beckon::sip
