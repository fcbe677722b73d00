#include "persistence/meta_table.hpp"

#include <string>

#include "persistence/detail/key_codec.hpp"

namespace crowdiff::persistence {

result<uint64_t> read_counter(read_txn& txn, std::string_view name) {
  auto value = txn.get(table::meta, name);
  if (!value)
    return value.error();
  if (!value->has_value())
    return uint64_t{0};
  if ((*value)->size() != 8)
    return status{errc::corruption, "meta counter " + std::string(name) + " is not 8 bytes"};
  return detail::read_u64(**value);
}

status write_counter(write_txn& txn, std::string_view name, uint64_t value) {
  return txn.put(table::meta, name, detail::u64_key(value));
}

result<uint64_t> next_counter(write_txn& txn, std::string_view name) {
  auto current = read_counter(txn, name);
  if (!current)
    return current;
  uint64_t next = *current + 1;
  if (auto s = write_counter(txn, name, next); !s)
    return s;
  return next;
}

}  // namespace crowdiff::persistence
