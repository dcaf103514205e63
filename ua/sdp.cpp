#include "sdp.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>
#include <vector>

namespace beckon::ua {

namespace {

struct Media {
  std::string type;   // audio, video ...
  std::string proto;  // RTP/AVP ...
  std::vector<std::string> formats;
  std::map<std::string, std::string> rtpmap;  // payload type -> "PCMU/8000"
  bool disabled = false;                      // port 0
};

std::vector<std::string> lines(const std::string& sdp) {
  std::vector<std::string> out;
  std::istringstream in(sdp);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::vector<Media> mediaOf(const std::string& sdp) {
  std::vector<Media> media;
  for (const auto& line : lines(sdp)) {
    if (line.rfind("m=", 0) == 0) {
      std::istringstream in(line.substr(2));
      Media m;
      std::string port;
      in >> m.type >> port >> m.proto;
      m.disabled = port == "0";
      for (std::string f; in >> f;)
        m.formats.push_back(f);
      media.push_back(m);
    } else if (line.rfind("a=rtpmap:", 0) == 0 && !media.empty()) {
      std::istringstream in(line.substr(9));
      std::string pt, name;
      in >> pt >> name;
      media.back().rtpmap[pt] = name;
    }
  }
  return media;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

// The codec of payload type `pt` in `m`: its rtpmap, else the static ones.
std::string codecOf(const Media& m, const std::string& pt) {
  const auto it = m.rtpmap.find(pt);
  if (it != m.rtpmap.end()) return upper(it->second);
  if (pt == "0") return "PCMU/8000";
  if (pt == "8") return "PCMA/8000";
  return "";
}

bool ours(const std::string& codec) {
  return codec == "PCMU/8000" || codec == "PCMA/8000";
}

std::string header(const std::string& address, unsigned long session, unsigned long version) {
  const char* family = address.find(':') != std::string::npos ? "IP6" : "IP4";
  std::ostringstream out;
  out << "v=0\r\n"
      << "o=beckon-ua " << session << " " << version << " IN " << family << " " << address << "\r\n"
      << "s=beckon-ua\r\n"
      << "c=IN " << family << " " << address << "\r\n"
      << "t=0 0\r\n";
  return out.str();
}

// No media flows: a port is still needed for an accepted stream; 9 is
// "discard", where nothing is listened for.
constexpr const char* kPort = "9";

}  // namespace

std::string sdpOffer(const std::string& address, unsigned long session) {
  return sdpOffer(address, session, session);
}

std::string sdpOffer(const std::string& address, unsigned long session, unsigned long version) {
  return header(address, session, version) + "m=audio " + kPort +
         " RTP/AVP 0 8\r\n"
         "a=rtpmap:0 PCMU/8000\r\n"
         "a=rtpmap:8 PCMA/8000\r\n"
         "a=sendrecv\r\n";
}

std::optional<SdpAnswer> sdpAnswer(const std::string& offer, const std::string& address,
                                   unsigned long session) {
  return sdpAnswer(offer, address, session, session);
}

std::optional<SdpAnswer> sdpAnswer(const std::string& offer, const std::string& address,
                                   unsigned long session, unsigned long version) {
  const auto media = mediaOf(offer);
  SdpAnswer answer;
  std::string body = header(address, session, version);
  for (const auto& m : media) {
    std::string chosen;
    if (answer.codec.empty() && !m.disabled && m.type == "audio") {
      for (const auto& f : m.formats) {
        if (ours(codecOf(m, f))) {
          chosen = f;
          break;
        }
      }
    }
    if (chosen.empty()) {
      body +=
          "m=" + m.type + " 0 " + m.proto + " " + (m.formats.empty() ? "0" : m.formats[0]) + "\r\n";
      continue;
    }
    answer.codec = codecOf(m, chosen);
    body += "m=audio " + std::string(kPort) + " " + m.proto + " " + chosen + "\r\n";
    body += "a=rtpmap:" + chosen + " " + answer.codec + "\r\n";
    body += "a=sendrecv\r\n";
  }
  if (answer.codec.empty()) return std::nullopt;
  answer.body = body;
  return answer;
}

std::string sdpChosenCodec(const std::string& answer) {
  for (const auto& m : mediaOf(answer)) {
    if (m.disabled || m.type != "audio") continue;
    for (const auto& f : m.formats) {
      const std::string c = codecOf(m, f);
      if (ours(c)) return c;
    }
  }
  return "";
}

}  // namespace beckon::ua

namespace beckon::ua {

std::string sdpSessionOf(const std::string& sdp) {
  std::istringstream in(sdp);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("o=", 0) != 0) continue;
    std::istringstream fields(line.substr(2));
    std::string user, session;
    fields >> user >> session;
    return session;
  }
  return "";
}

}  // namespace beckon::ua
