// A small command-line parser for `--name=value` / `--name value` / `--bool-flag` flags in
// the Prometheus style, shared by both programs.
#ifndef MODELWATCH_CORE_FLAGS_H_
#define MODELWATCH_CORE_FLAGS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace modelwatch {

struct FlagSpec {
  std::string name;           // without dashes, e.g. "config.dir"
  std::string help;           // one line
  std::string default_value;  // shown in --help; empty: none
  bool is_bool = false;       // takes no value (`--update`)
  bool required = false;
};

class FlagParser {
 public:
  // `usage` is the first line of --help, e.g. "modelwatch-rulegen validate [flags]".
  FlagParser(std::string usage, std::string description, std::vector<FlagSpec> specs);

  // Parses args (without the program/subcommand names). Returns an error for unknown flags
  // (with a "did you mean"), missing values, missing required flags and positional args.
  // A `--help`/`-h` sets help_requested() and succeeds.
  Result<void> Parse(const std::vector<std::string>& args);

  bool help_requested() const { return help_requested_; }

  // Parse() for a subcommand's main: on a usage error prints "COMMAND: error ... Try --help."
  // to stderr and returns 2; for --help prints Help() to stdout and returns 0; otherwise
  // returns nullopt and the command goes on.
  std::optional<int> ParseOrExit(const std::vector<std::string>& args, const std::string& command);
  // The value given, else the default. Empty if neither.
  std::string Get(const std::string& name) const;
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  bool GetBool(const std::string& name) const { return Has(name); }
  std::string Help() const;

 private:
  std::string usage_;
  std::string description_;
  std::vector<FlagSpec> specs_;
  std::map<std::string, std::string> values_;
  bool help_requested_ = false;
};

// Levenshtein distance, for "did you mean" suggestions.
int EditDistance(const std::string& a, const std::string& b);

// Returns the candidate closest to `word` if it is a near miss (distance <= 2, or <= 1/3 of
// the word's length for long words), else nullopt.
std::optional<std::string> Suggest(const std::string& word,
                                   const std::vector<std::string>& candidates);

}  // namespace modelwatch

#endif  // MODELWATCH_CORE_FLAGS_H_
