// The one place beckon-ua includes Sofia-SIP: the typed "magic" pointers must
// be defined before the first Sofia header, and su_config.h must come before
// the others.
#pragma once

namespace beckon::ua {
class Agent;
}  // namespace beckon::ua

#define SU_ROOT_MAGIC_T beckon::ua::Agent
#define NUA_MAGIC_T beckon::ua::Agent
#define NUA_HMAGIC_T void

#include <sofia-sip/su_config.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_tag.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/url.h>
