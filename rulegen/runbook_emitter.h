// RunbookEmitter: runbooks/<Alert>.md for every alert generated for at least one model (and
// the Watchdog), from templates/runbooks/ plus a generated trigger table and diagnostic
// PromQL over the generated recording rules.
#ifndef MODELWATCH_RULEGEN_RUNBOOK_EMITTER_H_
#define MODELWATCH_RULEGEN_RUNBOOK_EMITTER_H_

#include <memory>

#include "rulegen/emitter.h"

namespace modelwatch {

class RunbookEmitter : public Emitter {
 public:
  const char* Name() const override { return "runbooks"; }
  std::unique_ptr<EmitterRun> Start(const ConfigSet& config) const override;
};

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_RUNBOOK_EMITTER_H_
