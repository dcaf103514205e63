// One call of beckon-ua (agent.h's Agent::Call): what calls.cpp and
// reconstruction.cpp share.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

#include "agent.h"

namespace beckon::ua {

struct Agent::Call {
  unsigned id = 0;
  nua_handle_t* nh = nullptr;
  bool outgoing = false;
  std::string remote;
  std::string callId;
  std::string offer;  // incoming: the remote offer
  std::string codec;
  bool established = false;
  bool answered = false;     // incoming: final answer sent
  bool provisional = false;  // outgoing: a 1xx came (so it can be CANCELled)
  int status = 0;            // the final status that ended or refused it
  std::string by;            // "local" or "remote"
  std::string reason;        // bye, rejected, cancelled, failed, no-answer
  unsigned authTries = 0;
  unsigned long session = 0;  // our SDP o= session id (the same for the call's life)
  unsigned long version = 0;  // our SDP o= version, the last one sent
  // The dialog's state, for its reconstruction (ua/reconstruction.cpp).
  std::string localTag, remoteTag;
  std::string remoteSession;          // the o= session id of the peer's SDP
  std::uint32_t localCseq = 0;        // the CSeq of our last request in the dialog
  std::time_t setUpAt = 0;            // when the dialog was set up (wall clock)
  unsigned generation = 0;            // timers of an earlier dialog of the call are void
  bool reconstructing = false;        // a REFER sent (or taken), the INVITE/Replaces to come
  bool hangUpWhenRebuilt = false;     // our BYE got the 481: it goes again on the new dialog
  nua_handle_t* deadNh = nullptr;     // sender: the dialog that got the 481, until nua ends it
  nua_handle_t* pendingNh = nullptr;  // receiver: our INVITE with Replaces
  nua_handle_t* referNh = nullptr;    // the reconstruction REFER (ours, or the peer's)
  std::string pendingCallId;          // receiver: the new dialog's Call-ID
  // A 401/407 nua's digest client could not take (an algorithm it does not
  // know): the INVITE goes again, on a new handle, with these credentials
  // once nua has ended the refused one.
  std::string retryAuthorization;
  bool retryProxy = false;
};

}  // namespace beckon::ua
