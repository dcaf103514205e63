#include "write_queue.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "boundary.h"

namespace beckon::store {

QueuedStore::QueuedStore(Executor& executor, std::size_t groupSize)
    : executor_(executor), groupSize_(groupSize) {}

void QueuedStore::push(Write w) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    const bool change = isChange(w);
    if (change) ++queuedWrites_;
    queue_.push_back(std::move(w));
    // Waking the writer for each write would cost a context switch each.
    wake = groupSize_ == 0 || writerIdle_ || (change && queuedWrites_ == groupSize_);
  }
  if (wake) wake_.notify_one();
}

void QueuedStore::saveBinding(const Binding& binding) {
  // Flows and dialogs are Sofia objects of the core's thread: they stay there.
  Binding row = binding;
  row.flow.reset();
  row.dialog.reset();
  push(std::move(row));
}

void QueuedStore::removeBinding(std::uint64_t id) {
  push(RemoveBinding{id});
}

void QueuedStore::saveRequest(RequestRecord request) {
  push(std::move(request));
}

void QueuedStore::updateRequest(std::uint64_t id, RequestProgress progress) {
  push(UpdateRequest{id, std::move(progress)});
}

void QueuedStore::removeRequest(std::uint64_t id) {
  push(RemoveRequest{id});
}

void QueuedStore::setAccessibleSince(TimePoint since) {
  push(SetAccessible{since});
}

void QueuedStore::saveDialogKeys(const std::vector<DialogKey>& keys) {
  push(SetDialogKeys{keys});
}

void QueuedStore::afterCommit(std::function<void(bool committed)> done) {
  push(Barrier(std::move(done)));
}

void QueuedStore::whenCommitted(std::function<void(bool committed)> done) {
  push(Notice{std::move(done)});
}

bool QueuedStore::healthy() const {
  std::lock_guard lock(mutex_);
  return healthy_;
}

std::size_t QueuedStore::queued() const {
  std::lock_guard lock(mutex_);
  return queuedWrites_ + unwrittenCount_;
}

void QueuedStore::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (writer_.joinable()) writer_.join();
  // Without a writer (never started), what was queued is committed here;
  // with one, what a failing store still holds gets a last try.
  commitQueued();
  if (!unwritten_.empty()) {
    spdlog::error("{}: {} writes were never stored (none was acknowledged)", name(),
                  unwritten_.size());
    unwritten_.clear();
  }
}

void QueuedStore::commitQueued() {
  std::vector<Write> batch;
  std::size_t writes = 0;
  {
    std::lock_guard lock(mutex_);
    batch.swap(queue_);
    writes = std::exchange(queuedWrites_, 0);
  }
  if (!batch.empty() || !unwritten_.empty()) attempt(batch, writes);
}

void QueuedStore::tell(std::vector<Write>& batch, bool ok) {
  std::vector<Barrier> barriers;
  for (Write& w : batch) {
    // Each waiter alone: one that throws does not keep the others waiting.
    if (auto* n = std::get_if<Notice>(&w)) guarded(Boundary::StoreCommit, [&] { n->done(ok); });
    if (auto* b = std::get_if<Barrier>(&w)) barriers.push_back(std::move(*b));
  }
  // If the core's thread is gone (beckond stops), nobody waits any more.
  if (!barriers.empty()) {
    executor_.post([barriers = std::move(barriers), ok]() mutable {
      for (auto& done : barriers)
        guarded(Boundary::SipJob, [&] { done(ok); });
    });
  }
}

}  // namespace beckon::store
