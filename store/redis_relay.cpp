#include "redis_relay.h"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <utility>

#include "codec.h"
#include "fault.h"
#include "logfmt.h"
#include "thread_name.h"

namespace beckon::store {

using namespace codec;

namespace {

// A connection of its own (AUTH done), or nullptr with `why`.
redisContext* openRedis(const RedisAddress& a, std::chrono::milliseconds timeout,
                        std::string& why) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
  const timeval tv{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
  redisContext* c = redisConnectWithTimeout(a.host.c_str(), a.port, tv);
  if (!c || c->err) {
    why = c ? c->errstr : "cannot allocate a hiredis context";
    if (c) redisFree(c);
    return nullptr;
  }
  redisSetTimeout(c, tv);
  if (!a.password.empty()) {
    auto* r = static_cast<redisReply*>(
        a.user.empty() ? redisCommand(c, "AUTH %b", a.password.data(), a.password.size())
                       : redisCommand(c, "AUTH %b %b", a.user.data(), a.user.size(),
                                      a.password.data(), a.password.size()));
    const bool ok = r && r->type != REDIS_REPLY_ERROR;
    why = r && !ok ? std::string(r->str, r->len) : "no answer to AUTH";
    if (r) freeReplyObject(r);
    if (!ok) {
      redisFree(c);
      return nullptr;
    }
  }
  return c;
}

json statusJson(const ContactStatus& s) {
  json j = json::object();
  j["requestId"] = wireJson(s.requestId);
  j["state"] = toString(s.state);
  j["deliveries"] = json::parse(encodeDeliveries(s.deliveries));
  j["settled"] = s.settled;
  return j;
}

ContactStatus statusOf(const json& j) {
  ContactStatus s;
  s.requestId = wire(j.at("requestId"));
  s.state = stateOf(j.at("state").get<std::string>());
  s.deliveries = decodeDeliveries(j.at("deliveries"));
  s.settled = j.value("settled", false);
  return s;
}

// What GetDevice shows of a binding on another node.
json bindingJson(const Binding& b) {
  json j = json::object();
  j["aor"] = wireJson(b.aor);
  j["contact"] = wireJson(b.contact);
  j["instance"] = wireJson(b.instance);
  j["mac"] = wireJson(b.mac);
  j["transport"] = toString(b.transport);
  j["sourceHost"] = wireJson(b.sourceHost);
  j["sourcePort"] = b.sourcePort;
  j["expires"] = ms(b.expires);
  j["packages"] = encodePackages(b.packages);
  j["push"] =
      json::array({wireJson(b.push.provider), wireJson(b.push.prid), wireJson(b.push.param)});
  j["unreachable"] = b.unreachable;
  return j;
}

Binding bindingOf(const json& j) {
  Binding b;
  b.aor = wire(j.at("aor"));
  b.contact = wire(j.at("contact"));
  b.instance = wire(j.at("instance"));
  b.mac = wire(j.at("mac"));
  b.transport = transportOf(j.at("transport").get<std::string>());
  b.sourceHost = wire(j.at("sourceHost"));
  b.sourcePort = j.at("sourcePort").get<std::uint16_t>();
  b.expires = at(j.at("expires").get<std::int64_t>());
  b.packages = decodePackages(j.at("packages").get<std::string>());
  const json& push = j.at("push");
  b.push = {wire(push.at(0)), wire(push.at(1)), wire(push.at(2))};
  b.unreachable = j.at("unreachable").get<bool>();
  return b;
}

}  // namespace

RedisRelay::RedisRelay(RedisOptions options) : options_(std::move(options)) {
  address_ = parseRedisUrl(options_.url);
}

RedisRelay::~RedisRelay() {
  stop();
}

void RedisRelay::start(Handler handler, DeviceHandler devices) {
  handler_ = std::move(handler);
  devices_ = std::move(devices);
  if (listener_.joinable()) return;
  listener_ = namedThread("relay", [this] { listen(); });
  for (std::size_t i = 0; i < kWorkers; ++i) {
    workers_.push_back(namedThread("relay-worker", [this] {
      for (;;) {
        std::string message;
        {
          std::unique_lock lock(mutex_);
          workReady_.wait(lock, [&] { return stopping_ || !work_.empty(); });
          if (work_.empty()) return;  // stopping
          message = std::move(work_.front());
          work_.erase(work_.begin());
        }
        serve(std::move(message));
      }
    }));
  }
}

void RedisRelay::stop() {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard lock(mutex_);
    // The listener may be blocked reading its subscription: end that read.
    if (subscriberFd_ >= 0) ::shutdown(subscriberFd_, SHUT_RDWR);
    work_.clear();  // not started: their askers go on without them
  }
  workReady_.notify_all();
  if (listener_.joinable()) listener_.join();
  for (auto& w : workers_)
    w.join();
  workers_.clear();
}

bool RedisRelay::publish(const std::string& channel, const std::string& message) {
  std::string why;
  redisContext* c = openRedis(address_, options_.timeout, why);
  if (!c) return false;
  auto* r = static_cast<redisReply*>(redisCommand(c, "PUBLISH %b %b", channel.data(),
                                                  channel.size(), message.data(), message.size()));
  const bool ok = r && r->type == REDIS_REPLY_INTEGER;
  if (r) freeReplyObject(r);
  redisFree(c);
  return ok;
}

void RedisRelay::listen() {
  const std::string relay = "beckon:relay:" + options_.node;
  const std::string reply = "beckon:reply:" + options_.node;
  while (!stopping_) {
    std::string why;
    redisContext* c = openRedis(address_, options_.timeout, why);
    if (!c) {
      for (int i = 0; i < 10 && !stopping_; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    // Subscribed: replies come only with messages (or the wake-up of stop()).
    const timeval none{0, 0};
    redisSetTimeout(c, none);
    {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        redisFree(c);
        break;
      }
      subscriberFd_ = c->fd;
    }
    auto* r = static_cast<redisReply*>(
        redisCommand(c, "SUBSCRIBE %b %b", relay.data(), relay.size(), reply.data(), reply.size()));
    if (r) freeReplyObject(r);
    while (!stopping_) {
      void* raw = nullptr;
      if (redisGetReply(c, &raw) != REDIS_OK) break;  // Redis went away: subscribe again
      auto* m = static_cast<redisReply*>(raw);
      if (m->type == REDIS_REPLY_ARRAY && m->elements == 3 &&
          m->element[0]->type == REDIS_REPLY_STRING &&
          std::string(m->element[0]->str, m->element[0]->len) == "message") {
        const std::string channel(m->element[1]->str, m->element[1]->len);
        std::string payload(m->element[2]->str, m->element[2]->len);
        if (channel == relay) {
          std::lock_guard lock(mutex_);
          if (work_.size() < kBacklog) {
            work_.push_back(std::move(payload));
            workReady_.notify_one();
          } else {
            spdlog::warn("relay: {} relayed requests wait already: one dropped", kBacklog);
          }
        } else {
          try {
            const json j = json::parse(payload);
            if (j.contains("id")) {
              std::lock_guard lock(mutex_);
              const auto it = pending_.find(j["id"].get<std::uint64_t>());
              if (it != pending_.end()) {
                ++it->second.answered;
                if (!j.contains("none")) it->second.replies.push_back(payload);
              }
              answered_.notify_all();
            }
          } catch (const std::exception& e) {
            spdlog::warn("relay: a reply that does not decode: {}", e.what());
          }
        }
      }
      freeReplyObject(m);
    }
    {
      std::lock_guard lock(mutex_);
      subscriberFd_ = -1;
    }
    redisFree(c);
  }
}

void RedisRelay::serve(std::string message) {
  json answer = json::object();
  std::string from;
  try {
    const json j = json::parse(message);
    from = j.at("from").get<std::string>();
    answer["id"] = j.at("id");
    try {
      if (j.value("op", std::string()) == "getDevice") {
        json list = json::array();
        for (const Binding& b : devices_(wire(j.at("caller")), wire(j.at("deviceId"))))
          list.push_back(bindingJson(b));
        if (list.empty()) {
          answer["none"] = true;
        } else {
          answer["bindings"] = std::move(list);
        }
      } else {
        const ContactMeParams params = decodeParams(json::parse(j.at("params").get<std::string>()));
        if (auto status = handler_(wire(j.at("caller")), params)) {
          answer["status"] = statusJson(*status);
          spdlog::info("relay: contact-me request={} from node {} taken here",
                       beckon::quoted(params.requestId), from);
        } else {
          answer["none"] = true;
        }
      }
    } catch (const Fault& f) {
      answer["fault"] = static_cast<int>(f.code());
      answer["message"] = f.what();
    }
  } catch (const std::exception& e) {
    spdlog::warn("relay: a request that does not decode: {}", e.what());
    if (from.empty() || !answer.contains("id")) return;
    answer["none"] = true;
  }
  publish("beckon:reply:" + from, answer.dump());
}

std::vector<std::string> RedisRelay::broadcast(json j, bool first, std::chrono::milliseconds wait) {
  std::uint64_t id = 0;
  {
    std::lock_guard lock(mutex_);
    id = next_++;
    pending_[id].first = first;
  }
  j["id"] = id;
  j["from"] = options_.node;
  const std::string message = j.dump();
  // Every other node's channel; PUBLISH says how many listen on it.
  std::size_t expected = 0;
  std::string why;
  if (redisContext* c = openRedis(address_, options_.timeout, why)) {
    auto* nodes = static_cast<redisReply*>(redisCommand(c, "HKEYS beckon:nodes"));
    if (nodes && nodes->type == REDIS_REPLY_ARRAY) {
      for (std::size_t i = 0; i < nodes->elements; ++i) {
        const std::string node(nodes->element[i]->str, nodes->element[i]->len);
        if (node == options_.node) continue;
        const std::string channel = "beckon:relay:" + node;
        auto* r = static_cast<redisReply*>(redisCommand(
            c, "PUBLISH %b %b", channel.data(), channel.size(), message.data(), message.size()));
        if (r && r->type == REDIS_REPLY_INTEGER) expected += static_cast<std::size_t>(r->integer);
        if (r) freeReplyObject(r);
      }
    }
    if (nodes) freeReplyObject(nodes);
    redisFree(c);
  } else {
    spdlog::warn("relay: cannot reach Redis to ask the other nodes: {}", why);
  }
  std::unique_lock lock(mutex_);
  Pending& p = pending_[id];
  p.expected = expected;
  answered_.wait_for(lock, wait,
                     [&] { return (p.first && !p.replies.empty()) || p.answered >= p.expected; });
  std::vector<std::string> replies = std::move(p.replies);
  pending_.erase(id);
  return replies;
}

std::optional<ContactStatus> RedisRelay::ask(const std::string& caller,
                                             const ContactMeParams& params,
                                             std::chrono::milliseconds wait) {
  json j = json::object();
  j["op"] = "contactMe";
  j["caller"] = wireJson(caller);
  j["params"] = encodeParams(params);
  const std::vector<std::string> replies = broadcast(std::move(j), true, wait);
  if (replies.empty()) return std::nullopt;
  const json r = json::parse(replies.front());
  if (r.contains("fault")) {
    throw Fault(static_cast<FaultCode>(r["fault"].get<int>()),
                r.value("message", std::string("refused by another node")));
  }
  return statusOf(r.at("status"));
}

std::vector<Binding> RedisRelay::devices(const std::string& caller, const std::string& deviceId,
                                         std::chrono::milliseconds wait) {
  json j = json::object();
  j["op"] = "getDevice";
  j["caller"] = wireJson(caller);
  j["deviceId"] = wireJson(deviceId);
  std::vector<Binding> out;
  for (const std::string& reply : broadcast(std::move(j), false, wait)) {
    try {
      const json r = json::parse(reply);
      if (!r.contains("bindings")) continue;  // a fault there: its bindings are not shown
      for (const json& b : r["bindings"])
        out.push_back(bindingOf(b));
    } catch (const std::exception& e) {
      spdlog::warn("relay: bindings that do not decode: {}", e.what());
    }
  }
  return out;
}

}  // namespace beckon::store
