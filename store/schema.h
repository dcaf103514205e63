// The store's schema, as the list of migrations that build it: migration i
// takes a store from version i to i + 1 (PRAGMA user_version). A store made
// by an older beckond opens: the migrations it lacks run at start, in one
// transaction. Never edit a migration that shipped; add one.
#pragma once

#include <string_view>
#include <vector>

struct sqlite3;

namespace beckon::store {

const std::vector<std::string_view>& migrations();

// Runs the migrations from the store's version up to `target` (all of them
// by default) and returns the version the store had. Throws StoreError; a
// store newer than this build is refused.
int migrate(sqlite3* db, int target = -1);

}  // namespace beckon::store
