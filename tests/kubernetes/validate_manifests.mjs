// Validates Kubernetes objects (a JSON array, as check_manifests.py writes it) against the
// Kubernetes and prometheus-operator OpenAPI schemas shipped by the kubernetes-models packages.
// Prints one line per object; exits 1 when any is invalid or of a kind it does not know.
//   node validate_manifests.mjs OBJECTS.json
import { readFileSync } from "node:fs";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";
import { DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";

const models = { ConfigMap, Service, DaemonSet, Deployment, ServiceMonitor, PodMonitor, PrometheusRule };
const objects = JSON.parse(readFileSync(process.argv[2], "utf8"));
let failed = 0;
for (const { file, object } of objects) {
  const Model = models[object.kind];
  const what = `${file}: ${object.kind} ${object.metadata?.name}`;
  if (!Model) {
    console.log(`FAIL ${what}: no schema for kind ${object.kind}`);
    failed++;
    continue;
  }
  try {
    new Model(object).validate();
    console.log(`ok   ${what}`);
  } catch (e) {
    console.log(`FAIL ${what}: ${e.message.split("\n").slice(0, 5).join("; ")}`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
