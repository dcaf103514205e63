// The store's encoding of what devices and application servers send: a
// Binding and a RequestRecord (notifier/binding.h, notifier/store.h) whose
// text fields come from the input are saved through SqliteStore's public
// Store interface (saveBinding, saveRequest, updateRequest,
// setAccessibleSince, whenCommitted; start() and stop(), which commits what
// is queued), and a new SqliteStore on the same file loads them.
//
// Input: text fields cut at NUL bytes, given to the record's text fields in
// order and again from the first when there are fewer (one field alone goes
// into every text field); the numbers (ids, ports, times at the store's
// millisecond, states, flags) come from a hash of the input.
//
// Must hold: every write is committed (whenCommitted says true: wire text
// is bytes, and nothing a device can send is refused by the encoding), and
// what load() gives back is, field by field and byte for byte, what was
// saved. Two fields are not the store's to keep and are not compared: the
// MAC (the binding table derives it from the instance id) and the flow and
// dialog objects (sip/ rebuilds them). A package name is a token (the core
// takes only configured packages), so the input's bytes go into it as token
// characters only.
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cctype>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "fuzz.h"
#include "sqlite_store.h"

using beckon::fuzz::printable;

namespace {

// The store's callbacks run at once, on the thread that commits.
class InlineExecutor final : public beckon::Executor {
 public:
  bool post(std::function<void()> work) override {
    work();
    return true;
  }
};

// Never destroyed: removeDb() also runs from atexit, after static destructors.
const std::string& dbPath() {
  static const std::string* path =
      new std::string((std::filesystem::temp_directory_path() /
                       ("beckon-fuzz-store-" + std::to_string(::getpid()) + ".db"))
                          .string());
  return *path;
}

void removeDb() {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"})
    std::remove((dbPath() + suffix).c_str());
}

// Numbers from the input: FNV-1a, then a simple generator.
class Numbers {
 public:
  explicit Numbers(std::string_view text) {
    for (const unsigned char c : text)
      state_ = (state_ ^ c) * 0x100000001b3ull;
  }
  std::uint64_t next() {
    state_ ^= state_ >> 33;
    state_ *= 0xff51afd7ed558ccdull;
    state_ ^= state_ >> 33;
    return state_;
  }
  std::uint64_t below(std::uint64_t n) { return next() % n; }
  bool flag() { return next() & 1; }
  // A time the store keeps exactly: whole milliseconds, 1970 to about 2128.
  beckon::TimePoint time() {
    return beckon::TimePoint{} + std::chrono::milliseconds(below(5'000'000'000'000ull));
  }

 private:
  std::uint64_t state_ = 0xcbf29ce484222325ull;
};

class Fields {
 public:
  explicit Fields(std::string_view text) : fields_(beckon::fuzz::fields(text, 64)) {}
  std::string next() { return fields_[at_++ % fields_.size()]; }

 private:
  std::vector<std::string> fields_;
  std::size_t at_ = 0;
};

std::string token(const std::string& s) {
  std::string out;
  for (const unsigned char c : s) {
    out += std::isalnum(c) || c == '-' || c == '.' || c == '+' ? static_cast<char>(c) : '-';
  }
  return out.empty() ? "p" : out;
}

beckon::Transport transport(Numbers& n) {
  return static_cast<beckon::Transport>(n.below(3));
}

beckon::Binding makeBinding(Fields& f, Numbers& n) {
  beckon::Binding b;
  b.id = 1 + n.below(1'000'000);
  b.updated = n.below(1'000'000'000);
  b.aor = f.next();
  b.contact = f.next();
  b.instance = f.next();
  b.regId = f.next();
  b.tempGruu = f.next();
  b.transport = transport(n);
  b.sourceHost = f.next();
  b.sourcePort = static_cast<std::uint16_t>(n.below(65536));
  b.listener = f.next();
  b.expires = n.time();
  b.path = {f.next(), f.next()};
  b.callId = f.next();
  b.cseq = static_cast<std::uint32_t>(n.next());
  b.q = static_cast<float>(n.below(1001)) / 1000.0f;
  b.packages = {
      {token(f.next()), n.flag() ? beckon::BodyFormat::Xml : beckon::BodyFormat::Text, n.flag()},
      {token(f.next()), beckon::BodyFormat::Text, true}};
  b.push = {f.next(), f.next(), f.next()};
  b.unreachable = n.flag();
  if (n.flag()) {  // an explicit subscription, with its dialog (kept only with a dialog id)
    b.dialogId = f.next();
    if (!b.dialogId.empty()) {
      b.dialogState = {
          f.next(), f.next(), f.next(), {f.next(), f.next()}, static_cast<std::uint32_t>(n.next())};
    }
  }
  return b;
}

beckon::RequestProgress makeProgress(Fields& f, Numbers& n) {
  beckon::RequestProgress p;
  p.state = static_cast<beckon::RequestState>(n.below(6));
  for (int i = 0, count = static_cast<int>(n.below(3)); i < count; ++i) {
    beckon::Delivery d;
    d.bindingId = n.below(1'000'000);
    d.contact = f.next();
    d.transport = transport(n);
    d.sipStatus = static_cast<int>(n.below(700));
    d.reason = f.next();
    d.at = n.time();
    d.inFlight = n.flag();
    p.deliveries.push_back(std::move(d));
  }
  p.nextAttempt = n.time();
  p.endedAt = n.time();
  p.rounds = static_cast<unsigned>(n.below(100));
  p.cancelled = n.flag();
  for (int i = 0, count = static_cast<int>(n.below(3)); i < count; ++i)
    p.refusedBy.push_back(n.below(1'000'000));
  return p;
}

beckon::RequestRecord makeRequest(Fields& f, Numbers& n) {
  beckon::RequestRecord r;
  r.id = 1 + n.below(1'000'000);
  r.appServer = f.next();
  beckon::ContactMeParams& p = r.params;
  p.deviceId = f.next();
  p.requestId = f.next();
  p.server = f.next();
  if (n.flag()) p.port = static_cast<std::uint16_t>(n.below(65536));
  p.protocol = f.next();
  p.path = f.next();
  p.alternateServers = {f.next(), f.next()};
  p.function = f.next();
  p.timeSlot = f.next();
  p.package = f.next();
  p.queueSeconds = static_cast<std::uint32_t>(n.below(beckon::kMaxQueueSeconds + 1));
  p.waitMs = static_cast<std::uint32_t>(n.below(beckon::kMaxWaitMs + 1));
  p.onBehalfOf = f.next();
  r.createdAt = n.time();
  r.queueUntil = n.time();
  r.progress = makeProgress(f, n);
  return r;
}

// Each field by name, its bytes shown when they differ.
#define SAME(a, b, field)                                                 \
  FUZZ_CHECK((a).field == (b).field, "%s differs after load: %s", #field, \
             describe((a).field, (b).field).c_str())

std::string describe(const std::string& saved, const std::string& loaded) {
  return "saved '" + printable(saved) + "', loaded '" + printable(loaded) + "'";
}
std::string describe(const std::vector<std::string>& saved,
                     const std::vector<std::string>& loaded) {
  std::string out = "saved [";
  for (const auto& s : saved)
    out += "'" + printable(s) + "' ";
  out += "], loaded [";
  for (const auto& s : loaded)
    out += "'" + printable(s) + "' ";
  return out + "]";
}
template <class T>
std::string describe(const T&, const T&) {
  return "(not text)";
}

void sameBinding(const beckon::Binding& a, const beckon::Binding& b) {
  SAME(a, b, id);
  SAME(a, b, updated);
  SAME(a, b, aor);
  SAME(a, b, contact);
  SAME(a, b, instance);
  SAME(a, b, regId);
  SAME(a, b, tempGruu);
  SAME(a, b, transport);
  SAME(a, b, sourceHost);
  SAME(a, b, sourcePort);
  SAME(a, b, listener);
  SAME(a, b, expires);
  SAME(a, b, path);
  SAME(a, b, callId);
  SAME(a, b, cseq);
  SAME(a, b, q);
  SAME(a, b, push.provider);
  SAME(a, b, push.prid);
  SAME(a, b, push.param);
  SAME(a, b, unreachable);
  SAME(a, b, dialogId);
  SAME(a, b, dialogState.local);
  SAME(a, b, dialogState.remote);
  SAME(a, b, dialogState.target);
  SAME(a, b, dialogState.routeSet);
  SAME(a, b, dialogState.localCseq);
  SAME(a, b, packages.size());
  for (std::size_t i = 0; i < a.packages.size(); ++i) {
    SAME(a, b, packages[i].package);
    SAME(a, b, packages[i].format);
    SAME(a, b, packages[i].implicit);
  }
}

void sameRequest(const beckon::RequestRecord& a, const beckon::RequestRecord& b) {
  SAME(a, b, id);
  SAME(a, b, appServer);
  SAME(a, b, params.deviceId);
  SAME(a, b, params.requestId);
  SAME(a, b, params.server);
  SAME(a, b, params.port);
  SAME(a, b, params.protocol);
  SAME(a, b, params.path);
  SAME(a, b, params.alternateServers);
  SAME(a, b, params.function);
  SAME(a, b, params.timeSlot);
  SAME(a, b, params.package);
  SAME(a, b, params.queueSeconds);
  SAME(a, b, params.waitMs);
  SAME(a, b, params.onBehalfOf);
  SAME(a, b, createdAt);
  SAME(a, b, queueUntil);
  SAME(a, b, progress.state);
  SAME(a, b, progress.nextAttempt);
  SAME(a, b, progress.endedAt);
  SAME(a, b, progress.rounds);
  SAME(a, b, progress.cancelled);
  SAME(a, b, progress.refusedBy);
  SAME(a, b, progress.deliveries.size());
  for (std::size_t i = 0; i < a.progress.deliveries.size(); ++i) {
    SAME(a, b, progress.deliveries[i].bindingId);
    SAME(a, b, progress.deliveries[i].contact);
    SAME(a, b, progress.deliveries[i].transport);
    SAME(a, b, progress.deliveries[i].sipStatus);
    SAME(a, b, progress.deliveries[i].reason);
    SAME(a, b, progress.deliveries[i].at);
    SAME(a, b, progress.deliveries[i].inFlight);
  }
}

void check(std::string_view text) {
  Fields f(text);
  Numbers n(text);
  const beckon::Binding binding = makeBinding(f, n);
  beckon::RequestRecord request = makeRequest(f, n);
  const beckon::RequestProgress later = makeProgress(f, n);
  const beckon::TimePoint since = n.time();

  removeDb();
  InlineExecutor executor;
  beckon::store::SqliteOptions options;
  options.path = dbPath();
  options.synchronous = "normal";
  {
    beckon::store::SqliteStore store(options, executor);
    (void)store.load();
    store.start();
    store.saveBinding(binding);
    store.saveRequest(request);
    store.updateRequest(request.id, later);
    store.setAccessibleSince(since);
    int committed = -1;
    store.whenCommitted([&](bool ok) { committed = ok; });
    store.stop();  // commits what is queued
    FUZZ_CHECK(committed == 1, "the writes were %s",
               committed == 0 ? "refused (whenCommitted: false)" : "never committed");
  }
  request.progress = later;

  beckon::store::SqliteStore reopened(options, executor);
  const beckon::StoredState state = reopened.load();
  FUZZ_CHECK(state.bindings.size() == 1, "%zu bindings loaded", state.bindings.size());
  FUZZ_CHECK(state.requests.size() == 1, "%zu requests loaded", state.requests.size());
  sameBinding(binding, state.bindings[0]);
  sameRequest(request, state.requests[0]);
  FUZZ_CHECK(state.accessibleSince == since, "accessibleSince differs after load");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(std::getenv("BECKON_FUZZ_LOG") ? spdlog::level::debug : spdlog::level::off);
  std::atexit(removeDb);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = beckon::fuzz::asText(data, size);
  try {
    check(text);
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, "exception on %s: %s", printable(text.substr(0, 400)).c_str(), e.what());
  }
  return 0;
}
