#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <google/protobuf/message_lite.h>

#include "common/status.hpp"
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

}  // namespace crowdiff::persistence
