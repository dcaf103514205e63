// One call of beckon-ua (agent.h's Agent::Call): what calls.cpp and
// reconstruction.cpp share.
#pragma once

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
  unsigned reinvites = 0;  // for the SDP o= version
  // A 401/407 nua's digest client could not take (an algorithm it does not
  // know): the INVITE goes again, on a new handle, with these credentials
  // once nua has ended the refused one.
  std::string retryAuthorization;
  bool retryProxy = false;
};

}  // namespace beckon::ua
