// A thin, error-collecting reader over yaml-cpp nodes. Internal to the config loader.
//
// Every accessor records a located error instead of throwing, so validation reports every
// problem in one pass. Not thread-safe; one reader per file.
#ifndef MODELWATCH_CORE_YAML_READER_H_
#define MODELWATCH_CORE_YAML_READER_H_

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/duration.h"
#include "core/error.h"

namespace modelwatch {

class YamlReader {
 public:
  explicit YamlReader(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }
  std::vector<Error>& errors() { return errors_; }

  SourceLocation Locate(const YAML::Node& node) const;
  void AddError(const YAML::Node& at, std::string message);
  void AddError(SourceLocation at, std::string message);

  // Checks that `node` is a mapping (error otherwise, returns false), that every key is in
  // `allowed` (unknown keys get a "did you mean"), and that no key appears twice.
  // `what` names the mapping in messages, e.g. "source" or "the model".
  bool CheckMapping(const YAML::Node& node, const std::vector<std::string>& allowed,
                    const std::string& what);

  // Returns the child, or an undefined node (and records "missing required key" at `parent`
  // when `required`).
  YAML::Node Child(const YAML::Node& parent, const std::string& key, const std::string& what,
                   bool required);

  // Typed scalars. Each returns nullopt (with an error recorded) when the node has the wrong
  // type; an undefined node returns nullopt silently (the key was absent).
  std::optional<std::string> String(const YAML::Node& node, const std::string& key_path);
  std::optional<double> Number(const YAML::Node& node, const std::string& key_path);
  std::optional<std::int64_t> Integer(const YAML::Node& node, const std::string& key_path);
  std::optional<bool> Bool(const YAML::Node& node, const std::string& key_path);
  std::optional<Seconds> Duration(const YAML::Node& node, const std::string& key_path);
  // A duration that may also be zero, written `0` or `0s` (`0m`, ...): for settings whose
  // default is "none" (a label delay, an escalation), so that the default can be written out.
  std::optional<Seconds> DurationOrZero(const YAML::Node& node, const std::string& key_path);
  std::optional<std::vector<std::string>> StringList(const YAML::Node& node,
                                                     const std::string& key_path);

  // Range checks on an already-read value; record an error at `node` when violated.
  bool InRange(const YAML::Node& node, const std::string& key_path, double value, double lo,
               double hi, bool lo_open = false, bool hi_open = false);

  // Accepts one of `choices`; records an error with the choices (and a did-you-mean).
  std::optional<std::string> Choice(const YAML::Node& node, const std::string& key_path,
                                    const std::vector<std::string>& choices);

 private:
  std::string file_;
  std::vector<Error> errors_;
};

// Describes a node's kind for messages: "a string", "a list", "a mapping", "null".
std::string DescribeNode(const YAML::Node& node);

}  // namespace modelwatch

#endif  // MODELWATCH_CORE_YAML_READER_H_
