// A small stand-in for libFuzzer's main, for builds without clang's libFuzzer
// (the g++ builds of CI, where it runs under ASan+UBSan): replays every file
// of the corpus directories given, then feeds mutations of them (bit flips,
// byte changes, insertions and deletions of bytes and of SIP/XML tokens,
// splices of two inputs) for a given time. It finds shallow crashes and
// keeps every harness working; the real search is libFuzzer's (run.sh).
//
//   fuzz_NAME [-seconds=N] [-seed=N] [-max_len=N] DIR|FILE...
//
// A crash (sanitizer report, failed FUZZ_CHECK, a signal) leaves the input
// that caused it in ./crash-NAME.
#include <fcntl.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "fuzz.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

namespace {

using Input = std::vector<std::uint8_t>;

const char* const kTokens[] = {"\r\n",
                               "\r\n\r\n",
                               ":",
                               ";",
                               ",",
                               "<",
                               ">",
                               "\"",
                               "\\",
                               "=",
                               "@",
                               " ",
                               "\t",
                               "%",
                               "%00",
                               "sip:",
                               "sips:",
                               "urn:uuid:",
                               "urn:dev:mac:",
                               "tag=",
                               "branch=z9hG4bK",
                               "expires=",
                               "q=",
                               "+sip.instance=",
                               "reg-id=",
                               ";lr",
                               ";gr",
                               "Contact: ",
                               "Via: SIP/2.0/UDP ",
                               "Accept: ",
                               "Event: ",
                               "Path: ",
                               "Authorization: Digest ",
                               "Content-Length: ",
                               "Expires: ",
                               "*",
                               "application/application-server-contact-me",
                               "+xml",
                               "4294967296",
                               "-1",
                               "0",
                               "99999999999999999999",
                               "</",
                               "/>",
                               "&amp;",
                               "&#0;",
                               "<![CDATA[",
                               "]]>",
                               "xmlns:cm=",
                               "Content-Length: 99999",
                               "Transfer-Encoding: chunked",
                               "\r\n\x1e\r\n",
                               "$TAG",
                               "\xff",
                               "\xc3\xa9",
                               "\xed\xa0\x80",
                               "[",
                               "]",
                               "[::1]",
                               "=\"\"",
                               "[sip]",
                               "listen = "};

std::string crashFile;

std::vector<Input> load(const std::vector<std::string>& paths) {
  std::vector<Input> corpus;
  auto read = [&](const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  for (const auto& path : paths) {
    if (std::filesystem::is_directory(path)) {
      std::vector<std::filesystem::path> files;
      for (const auto& e : std::filesystem::directory_iterator(path))
        if (e.is_regular_file()) files.push_back(e.path());
      std::sort(files.begin(), files.end());
      for (const auto& f : files)
        read(f);
    } else {
      read(path);
    }
  }
  return corpus;
}

// The input being run, for the crash file: written only when the process
// dies (a sanitizer report, a failed FUZZ_CHECK's abort, a signal).
const Input* current = nullptr;
std::string crashPath;  // absolute: the harness may change directory

void writeCrashFile() {
  if (!current) return;
  const int fd = ::open(crashPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  const ssize_t n = ::write(fd, current->data(), current->size());
  (void)n;
  ::close(fd);
  const char note[] = "driver: the input is in the crash file (see the line below)\n";
  (void)!::write(2, note, sizeof note - 1);
  (void)!::write(2, crashPath.data(), crashPath.size());
  (void)!::write(2, "\n", 1);
}

void onSignal(int sig) {
  writeCrashFile();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void run(const Input& input) {
  current = &input;
  LLVMFuzzerTestOneInput(input.data(), input.size());
  current = nullptr;
}

Input mutate(const std::vector<Input>& corpus, std::mt19937_64& rng, std::size_t maxLen) {
  auto pick = [&](std::size_t n) { return n ? static_cast<std::size_t>(rng() % n) : 0; };
  Input in = corpus[pick(corpus.size())];
  const int rounds = 1 + static_cast<int>(pick(4));
  for (int r = 0; r < rounds; ++r) {
    switch (pick(7)) {
      case 0:  // flip a bit
        if (!in.empty()) in[pick(in.size())] ^= static_cast<std::uint8_t>(1u << pick(8));
        break;
      case 1:  // set a byte
        if (!in.empty()) in[pick(in.size())] = static_cast<std::uint8_t>(rng());
        break;
      case 2: {  // insert random bytes
        const std::size_t at = pick(in.size() + 1);
        const std::size_t n = 1 + pick(8);
        for (std::size_t i = 0; i < n; ++i)
          in.insert(in.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::uint8_t>(rng()));
        break;
      }
      case 3: {  // delete a range
        if (in.empty()) break;
        const std::size_t at = pick(in.size());
        const std::size_t n = std::min(in.size() - at, 1 + pick(16));
        in.erase(in.begin() + static_cast<std::ptrdiff_t>(at),
                 in.begin() + static_cast<std::ptrdiff_t>(at + n));
        break;
      }
      case 4: {  // insert a token
        const char* t = kTokens[pick(std::size(kTokens))];
        const std::size_t at = pick(in.size() + 1);
        in.insert(in.begin() + static_cast<std::ptrdiff_t>(at), t, t + std::strlen(t));
        break;
      }
      case 5: {  // duplicate a range
        if (in.empty()) break;
        const std::size_t at = pick(in.size());
        const std::size_t n = std::min(in.size() - at, 1 + pick(64));
        const Input part(in.begin() + static_cast<std::ptrdiff_t>(at),
                         in.begin() + static_cast<std::ptrdiff_t>(at + n));
        in.insert(in.begin() + static_cast<std::ptrdiff_t>(pick(in.size() + 1)), part.begin(),
                  part.end());
        break;
      }
      default: {  // splice with another input
        const Input& other = corpus[pick(corpus.size())];
        const std::size_t cut = pick(in.size() + 1);
        const std::size_t from = pick(other.size() + 1);
        in.resize(cut);
        in.insert(in.end(), other.begin() + static_cast<std::ptrdiff_t>(from), other.end());
        break;
      }
    }
  }
  if (in.size() > maxLen) in.resize(maxLen);
  return in;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0;
  std::uint64_t seed = 1;
  std::size_t maxLen = 16384;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("-seconds=", 0) == 0) {
      seconds = std::stod(a.substr(9));
    } else if (a.rfind("-seed=", 0) == 0) {
      seed = std::stoull(a.substr(6));
    } else if (a.rfind("-max_len=", 0) == 0) {
      maxLen = std::stoul(a.substr(9));
    } else if (a.rfind("-", 0) == 0) {
      std::fprintf(stderr, "usage: %s [-seconds=N] [-seed=N] [-max_len=N] DIR|FILE...\n", argv[0]);
      return 2;
    } else {
      paths.push_back(a);
    }
  }
  const std::string name = std::filesystem::path(argv[0]).filename().string();
  crashFile = "crash-" + name;
  crashPath = (std::filesystem::current_path() / crashFile).string();
  std::remove(crashPath.c_str());
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL})
    std::signal(sig, onSignal);
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_set_death_callback(writeCrashFile);
#endif
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);

  const auto corpus = load(paths);
  const auto start = std::chrono::steady_clock::now();
  for (const Input& in : corpus)
    run(in);
  std::size_t mutations = 0;
  std::mt19937_64 rng(seed);
  if (!corpus.empty()) {
    const auto until = start + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < until) {
      for (int i = 0; i < 16; ++i, ++mutations)
        run(mutate(corpus, rng, maxLen));
    }
  }
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: %zu corpus inputs and %zu mutations (seed %llu) in %.1f s: no crash\n",
              name.c_str(), corpus.size(), mutations, static_cast<unsigned long long>(seed), took);
  return 0;
}
