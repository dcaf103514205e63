#include "redis_store.h"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <iterator>
#include <map>
#include <stdexcept>
#include <utility>

#include "boundary.h"
#include "codec.h"
#include "thread_name.h"

namespace beckon::store {

using namespace codec;

namespace {

using Hash = std::map<std::string, std::string>;

// A request's progress is updated only while it is stored: an update that
// comes after its removal must not leave half a request behind.
constexpr const char* kUpdateIfExists =
    "if redis.call('EXISTS', KEYS[1]) == 1 then "
    "return redis.call('HSET', KEYS[1], unpack(ARGV)) end return 0";

std::string decimal(std::int64_t v) {
  return std::to_string(v);
}

std::string decimal(float v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

template <class T>
T number(const Hash& h, const char* field, T otherwise = T{}) {
  const auto it = h.find(field);
  if (it == h.end() || it->second.empty()) return otherwise;
  T v{};
  const std::string& s = it->second;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size())
    throw StoreError(std::string("field '") + field + "' is not a number: '" + s + "'");
  return v;
}

std::string field(const Hash& h, const char* name) {
  const auto it = h.find(name);
  return it == h.end() ? std::string() : it->second;
}

std::string bytes(const redisReply* r) {
  return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
             ? std::string(r->str, r->len)
             : std::string();
}

Hash hashOf(const redisReply* r) {
  Hash h;
  if (!r || r->type != REDIS_REPLY_ARRAY) return h;
  for (std::size_t i = 0; i + 1 < r->elements; i += 2)
    h.emplace(bytes(r->element[i]), bytes(r->element[i + 1]));
  return h;
}

std::vector<std::string> listOf(const redisReply* r) {
  std::vector<std::string> out;
  if (!r || r->type != REDIS_REPLY_ARRAY) return out;
  for (std::size_t i = 0; i < r->elements; ++i)
    out.push_back(bytes(r->element[i]));
  return out;
}

Binding bindingOf(const Hash& h) {
  Binding b;
  b.id = number<std::uint64_t>(h, "id");
  b.updated = number<std::uint64_t>(h, "updated");
  b.aor = field(h, "aor");
  b.contact = field(h, "contact");
  b.instance = field(h, "instance");
  b.regId = field(h, "reg_id");
  b.tempGruu = field(h, "temp_gruu");
  b.transport = transportOf(field(h, "transport"));
  b.sourceHost = field(h, "source_host");
  b.sourcePort = number<std::uint16_t>(h, "source_port");
  b.expires = at(number<std::int64_t>(h, "expires_ms"));
  if (const std::string path = field(h, "path"); !path.empty()) {
    for (const json& p : json::parse(path))
      b.path.push_back(wire(p));
  }
  b.callId = field(h, "call_id");
  b.cseq = number<std::uint32_t>(h, "cseq");
  b.q = number<float>(h, "q", 1.0f);
  b.packages = decodePackages(field(h, "packages"));
  b.unreachable = field(h, "unreachable") == "1";
  b.dialogId = field(h, "dialog_id");
  b.dialogState = decodeDialog(field(h, "dialog"));
  b.listener = field(h, "listener");
  b.push = {field(h, "push_provider"), field(h, "push_prid"), field(h, "push_param")};
  return b;
}

void progressFields(const RequestProgress& p, std::vector<std::string>& c) {
  for (std::string s :
       {std::string("state"), std::string(toString(p.state)), std::string("deliveries"),
        encodeDeliveries(p.deliveries), std::string("next_attempt_ms"), decimal(ms(p.nextAttempt)),
        std::string("ended_ms"), decimal(ms(p.endedAt)), std::string("rounds"),
        decimal(std::int64_t{p.rounds}), std::string("cancelled"),
        std::string(p.cancelled ? "1" : "0"), std::string("refused_by"),
        encodeRefusedBy(p.refusedBy)})
    c.push_back(std::move(s));
}

RequestRecord requestOf(const Hash& h) {
  RequestRecord r;
  r.id = number<std::uint64_t>(h, "id");
  r.appServer = field(h, "app_server");
  r.params = decodeParams(json::parse(field(h, "params")));
  r.createdAt = at(number<std::int64_t>(h, "created_ms"));
  r.queueUntil = at(number<std::int64_t>(h, "queue_until_ms"));
  RequestProgress& p = r.progress;
  p.state = stateOf(field(h, "state"));
  p.deliveries = decodeDeliveries(json::parse(field(h, "deliveries")));
  p.nextAttempt = at(number<std::int64_t>(h, "next_attempt_ms"));
  p.endedAt = at(number<std::int64_t>(h, "ended_ms"));
  p.rounds = number<unsigned>(h, "rounds");
  p.cancelled = field(h, "cancelled") == "1";
  p.refusedBy = json::parse(field(h, "refused_by")).get<std::vector<std::uint64_t>>();
  return r;
}

struct ReplyDeleter {
  void operator()(redisReply* r) const {
    if (r) freeReplyObject(r);
  }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

}  // namespace

std::string RedisAddress::display() const {
  std::string out = tls ? "rediss://" : "redis://";
  if (!user.empty() || !password.empty()) out += user + ":***@";
  return out + host + ":" + std::to_string(port) + "/" + std::to_string(db);
}

RedisAddress parseRedisUrl(std::string_view url) {
  RedisAddress a;
  std::string_view rest = url;
  if (rest.starts_with("redis://")) {
    rest.remove_prefix(8);
  } else if (rest.starts_with("rediss://")) {
    rest.remove_prefix(9);
    a.tls = true;
  } else {
    throw std::invalid_argument("must start with redis:// or rediss://");
  }
  if (const auto atSign = rest.rfind('@'); atSign != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, atSign);
    rest.remove_prefix(atSign + 1);
    const auto colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      a.password = std::string(userinfo);  // redis://password@host, as redis-cli -u takes it
    } else {
      a.user = std::string(userinfo.substr(0, colon));
      a.password = std::string(userinfo.substr(colon + 1));
    }
  }
  std::string_view hostport = rest.substr(0, rest.find('/'));
  std::string_view db = rest.size() > hostport.size() ? rest.substr(hostport.size() + 1) : "";
  std::string_view port;
  if (hostport.starts_with('[')) {  // [::1]:6379
    const auto close = hostport.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument("an unclosed '[' in the host");
    a.host = std::string(hostport.substr(1, close - 1));
    port = hostport.substr(close + 1);
  } else {
    const auto colon = hostport.find(':');
    a.host = std::string(hostport.substr(0, colon));
    port = colon == std::string_view::npos ? "" : hostport.substr(colon);
  }
  if (a.host.empty()) throw std::invalid_argument("no host");
  if (!port.empty()) {
    if (port[0] != ':') throw std::invalid_argument("junk after the host");
    port.remove_prefix(1);
    unsigned p = 0;
    const auto r = std::from_chars(port.data(), port.data() + port.size(), p);
    if (r.ec != std::errc() || r.ptr != port.data() + port.size() || p == 0 || p > 65535)
      throw std::invalid_argument("the port must be 1 to 65535");
    a.port = static_cast<std::uint16_t>(p);
  }
  if (!db.empty()) {
    const auto r = std::from_chars(db.data(), db.data() + db.size(), a.db);
    if (r.ec != std::errc() || r.ptr != db.data() + db.size() || a.db < 0)
      throw std::invalid_argument("the database must be a number (redis://host:port/0)");
  }
  return a;
}

RedisStore::RedisStore(RedisOptions options, Executor& executor)
    : QueuedStore(executor, 0),
      options_(std::move(options)),
      prefix_("beckon:" + options_.node + ":") {
  try {
    address_ = parseRedisUrl(options_.url);
  } catch (const std::invalid_argument& e) {
    throw StoreError("store.redis_url: " + std::string(e.what()));
  }
  if (address_.tls) {
    throw StoreError(
        "store.redis_url: rediss:// (TLS) needs hiredis_ssl, which this build does not have "
        "(Debian 12's libhiredis-dev is 0.14); reach Redis over loopback or a TLS tunnel "
        "(docs/cluster.md)");
  }
}

RedisStore::~RedisStore() {
  stop();
  if (redis_) redisFree(redis_);
}

void RedisStore::setLink(bool up, const std::string& why) {
  std::lock_guard lock(mutex_);
  linked_ = up;
  linkError_ = why;
}

bool RedisStore::linked() const {
  std::lock_guard lock(mutex_);
  return linked_;
}

std::string RedisStore::linkError() const {
  std::lock_guard lock(mutex_);
  return linkError_;
}

void RedisStore::disconnect(const std::string& why) {
  if (redis_) {
    redisFree(redis_);
    redis_ = nullptr;
  }
  if (linked()) spdlog::error("store {}: the link to Redis is down: {}", address_.display(), why);
  setLink(false, why);
}

bool RedisStore::connect() {
  if (redis_) return true;
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(options_.timeout).count();
  const timeval tv{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
  redis_ = redisConnectWithTimeout(address_.host.c_str(), address_.port, tv);
  if (!redis_ || redis_->err) {
    const std::string why = redis_ ? redis_->errstr : "cannot allocate a hiredis context";
    disconnect(why);
    return false;
  }
  redisSetTimeout(redis_, tv);
  std::vector<Command> hello;
  if (!address_.password.empty()) {
    hello.push_back(address_.user.empty() ? Command{"AUTH", address_.password}
                                          : Command{"AUTH", address_.user, address_.password});
  }
  if (address_.db != 0) hello.push_back({"SELECT", std::to_string(address_.db)});
  if (!hello.empty() && !roundTrip(hello, [](std::size_t, const void*) {})) return false;
  if (!linked()) spdlog::info("store {}: linked to Redis", address_.display());
  setLink(true, "");
  return true;
}

bool RedisStore::roundTrip(const std::vector<Command>& commands,
                           const std::function<void(std::size_t, const void*)>& reply) {
  if (!redis_) return false;
  std::vector<const char*> argv;
  std::vector<std::size_t> argvlen;
  for (const Command& c : commands) {
    argv.clear();
    argvlen.clear();
    for (const std::string& a : c) {
      argv.push_back(a.data());
      argvlen.push_back(a.size());
    }
    if (redisAppendCommandArgv(redis_, static_cast<int>(argv.size()), argv.data(),
                               argvlen.data()) != REDIS_OK) {
      disconnect(redis_->errstr);
      return false;
    }
  }
  bool ok = true;
  std::string error;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(redis_, &raw) != REDIS_OK) {
      disconnect(redis_->err ? redis_->errstr : "no reply");
      return false;
    }
    const Reply r(static_cast<redisReply*>(raw));
    if (r->type == REDIS_REPLY_ERROR) {
      ok = false;
      if (error.empty()) error = std::string(r->str, r->len);
    }
    reply(i, r.get());
  }
  if (!ok) {
    spdlog::error("store {}: Redis refused a command: {}", address_.display(), error);
    std::lock_guard lock(mutex_);
    linkError_ = "Redis refused a command: " + error;
  }
  return ok;
}

StoredState RedisStore::load() {
  StoredState state;
  const std::string where = "store " + address_.display() + ": ";
  if (!connect()) throw StoreError(where + "cannot reach Redis: " + linkError());
  std::vector<std::string> bindingIds, requestIds;
  Hash meta;
  auto fail = [&] { throw StoreError(where + "cannot read: " + linkError()); };
  if (!roundTrip({{"SMEMBERS", key("bindings")},
                  {"ZRANGEBYSCORE", key("requests"), "-inf", "+inf"},
                  {"HGETALL", key("meta")}},
                 [&](std::size_t i, const void* r) {
                   const auto* reply = static_cast<const redisReply*>(r);
                   if (i == 0) bindingIds = listOf(reply);
                   if (i == 1) requestIds = listOf(reply);
                   if (i == 2) meta = hashOf(reply);
                 }))
    fail();
  std::vector<Command> reads;
  for (const std::string& id : bindingIds)
    reads.push_back({"HGETALL", key("binding:" + id)});
  for (const std::string& id : requestIds)
    reads.push_back({"HGETALL", key("request:" + id)});
  std::vector<Hash> hashes(reads.size());
  if (!reads.empty() && !roundTrip(reads, [&](std::size_t i, const void* r) {
        hashes[i] = hashOf(static_cast<const redisReply*>(r));
      }))
    fail();
  try {
    for (std::size_t i = 0; i < hashes.size(); ++i) {
      if (hashes[i].empty()) continue;  // an index entry whose record is gone
      if (i < bindingIds.size()) {
        state.bindings.push_back(bindingOf(hashes[i]));
      } else {
        state.requests.push_back(requestOf(hashes[i]));
      }
    }
    std::sort(state.bindings.begin(), state.bindings.end(),
              [](const Binding& a, const Binding& b) { return a.id < b.id; });
    if (const std::string since = field(meta, "accessible_since"); !since.empty())
      state.accessibleSince = at(number<std::int64_t>(meta, "accessible_since"));
    if (const std::string keys = field(meta, "dialog_keys"); !keys.empty())
      state.dialogKeys = decodeKeys(keys);
  } catch (const json::exception& e) {
    throw StoreError(where + "a record does not decode: " + e.what());
  } catch (const StoreError& e) {
    throw StoreError(where + "a record does not decode: " + e.what());
  }
  return state;
}

void RedisStore::start() {
  if (!writer_.joinable()) writer_ = namedThread("store", [this] { run(); });
}

void RedisStore::run() {
  std::vector<Write> batch;
  std::size_t writes = 0;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (unwritten_.empty()) {
        if (!wake_.wait_for(lock, kPingEvery, [&] { return stopping_ || !queue_.empty(); })) {
          lock.unlock();
          // Idle: PING, so that /healthz knows the link before a write needs it.
          if (connect()) roundTrip({{"PING"}}, [](std::size_t, const void*) {});
          continue;
        }
        if (queue_.empty()) return;  // stopping, and everything is stored
        batch.swap(queue_);
        writes = std::exchange(queuedWrites_, 0);
      } else {
        // After a failed commit: the next try after the back-off. What comes
        // meanwhile waits behind what failed, and its waiters are told at
        // once that it is not stored (a SOAP caller gets its 503 now).
        const auto next = std::chrono::steady_clock::now() + retryIn_;
        while (!stopping_ && std::chrono::steady_clock::now() < next) {
          wake_.wait_until(lock, next, [&] { return stopping_ || !queue_.empty(); });
          if (queue_.empty()) continue;
          std::vector<Write> late;
          late.swap(queue_);
          queuedWrites_ = 0;
          for (Write& w : late) {
            if (isChange(w)) unwritten_.push_back(std::move(w));
          }
          unwrittenCount_ = unwritten_.size();
          lock.unlock();
          tell(late, false);
          lock.lock();
        }
        if (stopping_) return;  // stop() tries once more
        batch.swap(queue_);
        writes = std::exchange(queuedWrites_, 0);
      }
    }
    attempt(batch, writes);
    batch.clear();
  }
}

void RedisStore::attempt(std::vector<Write>& batch, std::size_t writes) {
  if (!unwritten_.empty()) {
    writes += unwritten_.size();
    batch.insert(batch.begin(), std::make_move_iterator(unwritten_.begin()),
                 std::make_move_iterator(unwritten_.end()));
    unwritten_.clear();
  }
  const auto started = std::chrono::steady_clock::now();
  // A write that cannot be encoded (it should not happen: wire bytes are
  // sent as bytes) is refused alone and never retried; its batch's waiters
  // are told false.
  bool allEncoded = true;
  std::vector<Command> commands{{"MULTI"}};
  std::erase_if(batch, [&](const Write& w) {
    std::vector<Command> own;
    if (guarded(Boundary::StoreEncode, [&] { encode(w, own); })) {
      std::move(own.begin(), own.end(), std::back_inserter(commands));
      return false;
    }
    allEncoded = false;
    return true;
  });
  const bool committed = commit(commands, batch.size());
  CommitReport report{std::chrono::steady_clock::now() - started, writes, 0, committed};
  if (committed) {
    retryIn_ = kFirstRetry;
  } else {
    for (Write& w : batch) {
      if (isChange(w)) unwritten_.push_back(std::move(w));
    }
    spdlog::warn("store {}: {} writes kept, next try in {} ms ({})", address_.display(),
                 unwritten_.size(), retryIn_.count(), linkError());
    retryIn_ = std::min(retryIn_ * 2, kLastRetry);
  }
  {
    std::lock_guard lock(mutex_);
    healthy_ = committed;
    unwrittenCount_ = unwritten_.size();
    report.queued = queuedWrites_ + unwrittenCount_;
  }
  tell(batch, committed && allEncoded);
  if (report_) guarded(Boundary::StoreCommit, [&] { report_(report); });
}

bool RedisStore::commit(std::vector<Command>& commands, std::size_t writes) {
  if (commands.size() == 1) return connect();  // only waiters: stored if Redis is there
  commands.push_back({"EXEC"});
  if (!connect()) return false;
  bool executed = false;
  const bool ok = roundTrip(commands, [&](std::size_t i, const void* r) {
    const auto* reply = static_cast<const redisReply*>(r);
    if (i + 1 != commands.size() || reply->type != REDIS_REPLY_ARRAY) return;
    executed = true;
    for (std::size_t k = 0; k < reply->elements; ++k) {
      if (reply->element[k]->type == REDIS_REPLY_ERROR) executed = false;
    }
  });
  if (ok && !executed) {
    std::lock_guard lock(mutex_);
    linkError_ = "Redis did not execute the transaction";
  }
  if (!ok || !executed) {
    spdlog::error("store {}: commit of {} writes failed: {}", address_.display(), writes,
                  linkError());
  }
  return ok && executed;
}

void RedisStore::encode(const Write& w, std::vector<Command>& out) const {
  if (const auto* b = std::get_if<Binding>(&w)) {
    const std::string k = key("binding:" + std::to_string(b->id));
    out.push_back({"DEL", k});
    out.push_back({"HSET",
                   k,
                   "id",
                   std::to_string(b->id),
                   "updated",
                   std::to_string(b->updated),
                   "aor",
                   b->aor,
                   "contact",
                   b->contact,
                   "instance",
                   b->instance,
                   "reg_id",
                   b->regId,
                   "temp_gruu",
                   b->tempGruu,
                   "transport",
                   std::string(toString(b->transport)),
                   "source_host",
                   b->sourceHost,
                   "source_port",
                   std::to_string(b->sourcePort),
                   "expires_ms",
                   decimal(ms(b->expires)),
                   "path",
                   b->path.empty() ? std::string() : wireJson(b->path).dump(),
                   "call_id",
                   b->callId,
                   "cseq",
                   std::to_string(b->cseq),
                   "q",
                   decimal(b->q),
                   "packages",
                   encodePackages(b->packages),
                   "unreachable",
                   b->unreachable ? "1" : "0",
                   "dialog_id",
                   b->dialogId,
                   "dialog",
                   encodeDialog(*b),
                   "listener",
                   b->listener,
                   "push_provider",
                   b->push.provider,
                   "push_prid",
                   b->push.prid,
                   "push_param",
                   b->push.param,
                   "node",
                   options_.node});
    out.push_back({"SADD", key("bindings"), std::to_string(b->id)});
  } else if (const auto* rb = std::get_if<RemoveBinding>(&w)) {
    out.push_back({"DEL", key("binding:" + std::to_string(rb->id))});
    out.push_back({"SREM", key("bindings"), std::to_string(rb->id)});
  } else if (const auto* r = std::get_if<RequestRecord>(&w)) {
    const std::string id = std::to_string(r->id), k = key("request:" + id);
    Command c{"HSET",
              k,
              "id",
              id,
              "app_server",
              r->appServer,
              "request_id",
              r->params.requestId,
              "params",
              encodeParams(r->params),
              "created_ms",
              decimal(ms(r->createdAt)),
              "queue_until_ms",
              decimal(ms(r->queueUntil))};
    progressFields(r->progress, c);
    out.push_back({"DEL", k});
    out.push_back(std::move(c));
    out.push_back({"ZADD", key("requests"), id, id});
  } else if (const auto* u = std::get_if<UpdateRequest>(&w)) {
    Command c{"EVAL", kUpdateIfExists, "1", key("request:" + std::to_string(u->id))};
    progressFields(u->progress, c);
    out.push_back(std::move(c));
  } else if (const auto* rr = std::get_if<RemoveRequest>(&w)) {
    out.push_back({"DEL", key("request:" + std::to_string(rr->id))});
    out.push_back({"ZREM", key("requests"), std::to_string(rr->id)});
  } else if (const auto* a = std::get_if<SetAccessible>(&w)) {
    out.push_back({"HSET", key("meta"), "accessible_since", decimal(ms(a->since))});
    out.push_back({"HSET", "beckon:nodes", options_.node, options_.advertise});
  } else if (const auto* dk = std::get_if<SetDialogKeys>(&w)) {
    out.push_back({"HSET", key("meta"), "dialog_keys", encodeKeys(dk->keys)});
  }
}

}  // namespace beckon::store
