// PromtoolTestsEmitter: tests/<model>.test.yml and tests/modelwatch.test.yml, unit tests for
// `promtool test rules`.
//
// For every generated alert: a firing case per severity (input series at exact ratios, full
// exp_labels and exp_annotations), the hysteresis (still firing within keep_firing_for after
// the condition cleared, resolved after it) and a silent case (normal values, and a spike
// shorter than `for`). group_eval_order puts the recording group before the alerts group.
#ifndef MODELWATCH_RULEGEN_PROMTOOL_TESTS_EMITTER_H_
#define MODELWATCH_RULEGEN_PROMTOOL_TESTS_EMITTER_H_

#include <memory>

#include "rulegen/emitter.h"

namespace modelwatch {

class PromtoolTestsEmitter : public Emitter {
 public:
  const char* Name() const override { return "promtool-tests"; }
  std::unique_ptr<EmitterRun> Start(const ConfigSet& config) const override;
};

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_PROMTOOL_TESTS_EMITTER_H_
