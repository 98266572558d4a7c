#include "exporter/daemon/logger.h"

namespace modelwatch {

Logger& Log() {
  static Logger logger;
  return logger;
}

}  // namespace modelwatch
