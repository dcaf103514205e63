// The one place that includes Sofia-SIP: its typed "magic" pointers must be
// defined before the first Sofia header, and su_config.h must come before
// sofia_features.h.
#pragma once

namespace beckon::sip {
class SipServer;
struct PendingNotify;
class ResponseContext;
}  // namespace beckon::sip

#define SU_ROOT_MAGIC_T beckon::sip::SipServer
#define NTA_AGENT_MAGIC_T beckon::sip::SipServer
#define NTA_LEG_MAGIC_T beckon::sip::SipServer
#define NTA_OUTGOING_MAGIC_T beckon::sip::PendingNotify
#define NTA_INCOMING_MAGIC_T beckon::sip::ResponseContext

#include <sofia-sip/su_config.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_date.h>
#include <sofia-sip/su_time.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/tport.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/url.h>
#include <sofia-sip/url_tag.h>
#include <sofia-sip/nta_stateless.h>

#include <memory>
#include <string>

namespace beckon::sip {

// A Sofia memory home scoped to a C++ block.
class Home {
 public:
  Home() { su_home_init(home_); }
  ~Home() { su_home_deinit(home_); }
  Home(const Home&) = delete;
  Home& operator=(const Home&) = delete;
  su_home_t* get() { return home_; }

 private:
  su_home_t home_[1] = {SU_HOME_INIT(home_)};
};

// url_t -> "sip:user@host:port;params".
std::string urlString(const url_t* url);

// The keys a log line about this message carries: "method=... call_id=...
// cseq=..." (status= for a response), values quoted (notifier/logfmt.h).
std::string logKeys(sip_t const* sip);

}  // namespace beckon::sip
