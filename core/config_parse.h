// Helpers the model and fleet config parsers share (core/model_config_parser.cc,
// core/fleet_config_parser.cc). Internal to core/.
#ifndef MODELWATCH_CORE_CONFIG_PARSE_H_
#define MODELWATCH_CORE_CONFIG_PARSE_H_

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>

#include "core/yaml_reader.h"

namespace modelwatch::config_parse {

// Names of models and teams: [a-z0-9_-]+ (they become label values and receiver names).
bool IsName(const std::string& s);

// `path` relative to the directory of `file` (absolute paths and "" unchanged).
std::string Resolve(const std::string& file, const std::string& path);

// Parses the text into a document; a syntax error becomes a located error.
std::optional<YAML::Node> ParseYaml(std::string_view text, YamlReader& r);

}  // namespace modelwatch::config_parse

#endif  // MODELWATCH_CORE_CONFIG_PARSE_H_
