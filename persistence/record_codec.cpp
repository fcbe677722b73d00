#include "persistence/record_codec.hpp"

namespace crowdiff::persistence {

std::string encode_record(const google::protobuf::MessageLite& msg) {
  std::string out;
  out.reserve(msg.ByteSizeLong() + 1);
  out.push_back(static_cast<char>(record_format_v1));
  msg.AppendToString(&out);
  return out;
}

status decode_record(std::string_view bytes, google::protobuf::MessageLite& msg, table t) {
  if (bytes.empty())
    return status{errc::corruption, "empty record in table " + std::string(table_name(t))};
  auto format = static_cast<uint8_t>(bytes[0]);
  if (format != record_format_v1)
    return status{errc::unsupported, "record format " + std::to_string(format) + " in table " +
                                         std::string(table_name(t)) + " is newer than this crowdiff"};
  if (!msg.ParseFromArray(bytes.data() + 1, static_cast<int>(bytes.size() - 1)))
    return status{errc::corruption, "undecodable record in table " + std::string(table_name(t))};
  return status::ok();
}

result<bool> read_record(read_txn& txn, table t, std::string_view key, google::protobuf::MessageLite& msg) {
  auto value = txn.get(t, key);
  if (!value)
    return value.error();
  if (!value->has_value())
    return false;
  if (auto s = decode_record(**value, msg, t); !s)
    return s;
  return true;
}

status write_record(write_txn& txn, table t, std::string_view key, const google::protobuf::MessageLite& msg) {
  return txn.put(t, key, encode_record(msg));
}

status skip_or_fail(const bad_record_fn& on_bad, bad_record bad, const status& why) {
  // A format byte this crowdiff does not know is damage too: a store written by a newer version is refused
  // whole when it is opened (meta schema_version), so no record of a newer format reaches a scan.
  if (!on_bad)
    return why;
  bad.error = why.to_string();
  on_bad(std::move(bad));
  return status::ok();
}

status scan_records(read_txn& txn, table t, std::string_view from, google::protobuf::MessageLite& scratch,
                    const std::function<bool(std::string_view key)>& fn, const bad_record_fn& on_bad) {
  status inner;
  auto s = txn.scan(t, from, [&](std::string_view key, std::string_view value) {
    if (auto decoded = decode_record(value, scratch, t); !decoded) {
      inner = skip_or_fail(on_bad, bad_record{t, std::string(key), std::string(value), {}, {}}, decoded);
      return inner.is_ok();
    }
    return fn(key);
  });
  if (!s)
    return s;
  return inner;
}

}  // namespace crowdiff::persistence
