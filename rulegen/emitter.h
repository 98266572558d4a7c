// The emitter interface: one emitter per kind of generated output.
#ifndef MODELWATCH_RULEGEN_EMITTER_H_
#define MODELWATCH_RULEGEN_EMITTER_H_

#include <map>
#include <string>

#include "core/config.h"

namespace modelwatch {

// Relative output path (e.g. "rules/fraud-detector.rules.yml") -> file content.
using OutputFiles = std::map<std::string, std::string>;

// Produces some of the files of `modelwatch-rulegen generate`. Implementations are
// stateless and deterministic: the same ConfigSet gives byte-identical files.
class Emitter {
 public:
  virtual ~Emitter() = default;
  virtual const char* Name() const = 0;
  // Adds this emitter's files to `out`. The config has already been validated.
  virtual void Emit(const ConfigSet& config, OutputFiles& out) const = 0;
};

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_EMITTER_H_
