#include "apps/crowdiff/command_line.hpp"

#include <algorithm>
#include <cctype>

#include "crowdiff/v1/config.pb.h"

namespace crowdiff::app {

std::optional<std::string> command_line::get(const std::string& flag) const {
  auto it = flags.find(flag);
  if (it == flags.end())
    return std::nullopt;
  return it->second;
}

result<command_line> parse_command_line(int argc, char** argv, const std::vector<std::string>& value_flags) {
  command_line out;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    // Short flags (-o FILE, -W 512) are their long forms with one dash.
    if (arg.size() == 2 && arg[0] == '-' && std::isalpha(static_cast<unsigned char>(arg[1])))
      arg = "-" + arg;
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      if (out.command.empty())
        out.command = arg;
      else
        out.words.push_back(arg);
      continue;
    }
    std::string body = arg.substr(2);
    auto eq = body.find('=');
    std::string name = body.substr(0, eq);
    bool takes_value = std::find(value_flags.begin(), value_flags.end(), name) != value_flags.end();
    // Config fields (`--store.directory=/x`, `--models=a,b`, `--log_level=debug`) are overrides; a named
    // flag (`--store DIR`) wins over the config message of the same name.
    const auto* field = v1::NodeConfig::descriptor()->FindFieldByName(name);
    bool scalar_field = field != nullptr && field->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE;
    if (!takes_value && (name.find('.') != std::string::npos || scalar_field)) {
      if (eq == std::string::npos) {
        if (i + 1 >= argc)
          return status{errc::invalid_argument, "--" + name + " needs a value"};
        body += "=" + std::string(argv[++i]);
      }
      out.overrides.push_back(body);
      continue;
    }
    // A value flag given again adds to the list (--model a --model b means "a,b").
    auto set_value = [&](std::string value) {
      auto [it, fresh] = out.flags.try_emplace(name, value);
      if (!fresh)
        it->second += "," + value;
    };
    if (eq != std::string::npos) {
      if (!takes_value)
        return status{errc::invalid_argument, "--" + name + " takes no value"};
      set_value(body.substr(eq + 1));
    } else if (takes_value) {
      if (i + 1 >= argc)
        return status{errc::invalid_argument, "--" + name + " needs a value"};
      set_value(argv[++i]);
    } else {
      out.flags[name] = "";
    }
  }
  return out;
}

}  // namespace crowdiff::app
