// `modelwatch-exporter shadow-report`: the promotion report (exporter/shadow/shadow_report.h)
// over whole files.
#ifndef MODELWATCH_EXPORTER_COMMANDS_SHADOW_REPORT_COMMAND_H_
#define MODELWATCH_EXPORTER_COMMANDS_SHADOW_REPORT_COMMAND_H_

#include <string>
#include <vector>

namespace modelwatch {

// `modelwatch-exporter shadow-report --config.dir=DIR --model=NAME --input=predictions.jsonl
// [--labels=labels.jsonl]`: reads whole files, compares over all their records, prints the
// report. Returns 0 promote, 1 do not promote (or unreadable input), 2 usage.
int RunShadowReportCommand(const std::vector<std::string>& args);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_COMMANDS_SHADOW_REPORT_COMMAND_H_
