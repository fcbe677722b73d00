#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <google/protobuf/message_lite.h>

#include "common/status.hpp"
#include "persistence/bad_record.hpp"
#include "persistence/kv_store.hpp"

namespace crowdiff::persistence {

/// Stored values are one format byte followed by a serialized protobuf. The byte is on-disk: a later
/// format gets a new number and the old one stays readable.
inline constexpr uint8_t record_format_v1 = 1;

/// Encodes `msg` as a stored value.
std::string encode_record(const google::protobuf::MessageLite& msg);

/// Decodes a stored value into `msg`; corruption (naming the table) when the bytes do not parse.
status decode_record(std::string_view bytes, google::protobuf::MessageLite& msg, table t);

/// Reads and decodes `key` of table `t`. ok + false when absent.
result<bool> read_record(read_txn& txn, table t, std::string_view key, google::protobuf::MessageLite& msg);

/// Encodes and writes `msg` under `key`.
status write_record(write_txn& txn, table t, std::string_view key, const google::protobuf::MessageLite& msg);

/// What a scan does with an entry it cannot use: with `on_bad`, hands `bad` over (its error set from `why`)
/// and returns ok, so the scan skips it and goes on; without, returns `why`, so the scan stops with it.
status skip_or_fail(const bad_record_fn& on_bad, bad_record bad, const status& why);

/// Visits the records of `t` with key >= `from` in key order: each is decoded into `scratch` and `fn(key)` is
/// called, until it returns false. A record that does not decode goes through skip_or_fail. The scan every
/// typed table scan is built on, so they all treat unreadable records alike.
status scan_records(read_txn& txn, table t, std::string_view from, google::protobuf::MessageLite& scratch,
                    const std::function<bool(std::string_view key)>& fn, const bad_record_fn& on_bad);

}  // namespace crowdiff::persistence
