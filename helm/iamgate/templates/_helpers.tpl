{{/*
Names, labels and the pieces shared by the sidecar and forward-auth Deployments.
*/}}

{{/* The chart name, overridable. */}}
{{- define "iamgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The full name of the release's resources: the release name, plus the chart name unless the release name already contains it. */}}
{{- define "iamgate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "iamgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select the pods; they never change after the first installation. */}}
{{- define "iamgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "iamgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "iamgate.labels" -}}
helm.sh/chart: {{ include "iamgate.chart" . }}
{{ include "iamgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: {{ get (dict "sidecar" "sidecar" "forwardAuth" "forward-auth" "extAuthz" "ext-authz") .Values.mode }}
{{- end }}

{{/* The service account of the pods. */}}
{{- define "iamgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "iamgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The iamgate image reference: repository@digest when a digest is given, repository:tag otherwise. */}}
{{- define "iamgate.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The ConfigMap holding iamgate.yaml. */}}
{{- define "iamgate.configMapName" -}}
{{- default (printf "%s-config" (include "iamgate.fullname" .)) .Values.config.existingConfigMap }}
{{- end }}

{{/* Whether policy files are mounted over the image's examples at /app/policies. */}}
{{- define "iamgate.policiesMounted" -}}
{{- if or .Values.policies.existingConfigMap .Values.policies.files }}true{{ end }}
{{- end }}

{{/* The ConfigMap holding the policy files. */}}
{{- define "iamgate.policiesConfigMapName" -}}
{{- default (printf "%s-policies" (include "iamgate.fullname" .)) .Values.policies.existingConfigMap }}
{{- end }}

{{/* A ConfigMap key for a policy file path: folders are not allowed in keys, so "/" becomes "--". */}}
{{- define "iamgate.policyKey" -}}
{{- . | replace "/" "--" }}
{{- end }}

{{/* The URL of the protected service. */}}
{{- define "iamgate.upstream" -}}
{{- if .Values.iamgate.upstream }}
{{- .Values.iamgate.upstream }}
{{- else if eq .Values.mode "sidecar" }}
{{- printf "http://127.0.0.1:%d" (int .Values.app.port) }}
{{- end }}
{{- end }}

{{/* An HTTP probe on the operations port, from a probe's values. */}}
{{- define "iamgate.probe" -}}
httpGet:
  path: {{ .path }}
  port: ops
{{- with .initialDelaySeconds }}
initialDelaySeconds: {{ . }}
{{- end }}
periodSeconds: {{ .periodSeconds }}
timeoutSeconds: {{ .timeoutSeconds }}
failureThreshold: {{ .failureThreshold }}
{{- end }}

{{/* Checksum annotations that roll the pods when the rendered configuration (and, if asked, the policies) change. */}}
{{- define "iamgate.checksums" -}}
{{- if and .Values.config.rollOnChange (not .Values.config.existingConfigMap) }}
checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- end }}
{{- if and .Values.policies.rollOnChange .Values.policies.files (not .Values.policies.existingConfigMap) }}
checksum/policies: {{ include (print $.Template.BasePath "/policies-configmap.yaml") . | sha256sum }}
{{- end }}
{{- end }}

{{/*
Values the schema cannot compare: the chart gives iamgate its ports through IAMGATE_PORT and
IAMGATE_OPS_PORT, which override the file, so a different port in config.file would be ignored.
In extAuthz mode the file's own extAuthz.grpc.port would win over iamgate.grpcPort, the port the
container opens and the Service targets, so Envoy would find nothing listening there.
*/}}
{{- define "iamgate.checks" -}}
{{- $listen := dig "listen" "port" "" .Values.config.file }}
{{- if and (ne (toString $listen) "") (ne (toString $listen) (toString .Values.iamgate.port)) }}
{{- fail (printf "config.file.listen.port (%v) differs from iamgate.port (%v), which the chart gives iamgate as IAMGATE_PORT: set iamgate.port instead" $listen .Values.iamgate.port) }}
{{- end }}
{{- $ops := dig "operations" "port" "" .Values.config.file }}
{{- if and (ne (toString $ops) "") (ne (toString $ops) (toString .Values.iamgate.opsPort)) }}
{{- fail (printf "config.file.operations.port (%v) differs from iamgate.opsPort (%v), which the chart gives iamgate as IAMGATE_OPS_PORT: set iamgate.opsPort instead" $ops .Values.iamgate.opsPort) }}
{{- end }}
{{- $grpc := dig "extAuthz" "grpc" "port" "" .Values.config.file }}
{{- if and (eq .Values.mode "extAuthz") (ne (toString $grpc) "") (ne (toString $grpc) (toString .Values.iamgate.grpcPort)) }}
{{- fail (printf "config.file.extAuthz.grpc.port (%v) differs from iamgate.grpcPort (%v), the port the chart opens and its Service targets in extAuthz mode: set iamgate.grpcPort instead" $grpc .Values.iamgate.grpcPort) }}
{{- end }}
{{- /* Kubernetes kills the pod terminationGracePeriodSeconds after it is asked to stop, preStop delay
  included. After SIGTERM iamgate lets requests finish for shutdown.graceMs, then takes up to 10 s
  more to close and seal the audit trail: killed before that, the chain is left unsigned at its end. */}}
{{- if not .Values.config.existingConfigMap }}
{{- $graceMs := int (dig "shutdown" "graceMs" 25000 .Values.config.file) }}
{{- $needed := add (int .Values.iamgate.preStopDelaySeconds) (div (add $graceMs 999) 1000) 10 }}
{{- if gt (int $needed) (int .Values.terminationGracePeriodSeconds) }}
{{- fail (printf "terminationGracePeriodSeconds (%v) is shorter than iamgate needs to stop: iamgate.preStopDelaySeconds (%v) + config.file.shutdown.graceMs (%v ms) + 10 s to close and seal the audit trail = %v s: raise terminationGracePeriodSeconds or lower the others" .Values.terminationGracePeriodSeconds .Values.iamgate.preStopDelaySeconds $graceMs $needed) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The iamgate container. */}}
{{- define "iamgate.container" -}}
{{- include "iamgate.checks" . }}
- name: iamgate
  image: {{ include "iamgate.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  {{- with .Values.iamgate.args }}
  args:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  ports:
    - name: gateway
      containerPort: {{ .Values.iamgate.port }}
      protocol: TCP
    - name: ops
      containerPort: {{ .Values.iamgate.opsPort }}
      protocol: TCP
    {{- if eq .Values.mode "extAuthz" }}
    - name: grpc
      containerPort: {{ .Values.iamgate.grpcPort }}
      protocol: TCP
    {{- end }}
  env:
    - name: IAMGATE_CONFIG
      value: /etc/iamgate/iamgate.yaml
    - name: IAMGATE_PORT
      value: {{ .Values.iamgate.port | quote }}
    - name: IAMGATE_OPS_PORT
      value: {{ .Values.iamgate.opsPort | quote }}
    {{- with (include "iamgate.upstream" .) }}
    - name: IAMGATE_UPSTREAM
      value: {{ . | quote }}
    {{- end }}
    {{- if .Values.redis.existingSecret }}
    - name: REDIS_URL
      valueFrom:
        secretKeyRef:
          name: {{ .Values.redis.existingSecret }}
          key: {{ .Values.redis.existingSecretKey }}
    {{- else if .Values.redis.url }}
    - name: REDIS_URL
      value: {{ .Values.redis.url | quote }}
    {{- end }}
    - name: TMPDIR
      value: /tmp
    {{- with .Values.iamgate.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.iamgate.extraEnvFrom }}
  envFrom:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  livenessProbe:
    {{- include "iamgate.probe" .Values.iamgate.livenessProbe | nindent 4 }}
  readinessProbe:
    {{- include "iamgate.probe" .Values.iamgate.readinessProbe | nindent 4 }}
  startupProbe:
    {{- include "iamgate.probe" .Values.iamgate.startupProbe | nindent 4 }}
  {{- if gt (int .Values.iamgate.preStopDelaySeconds) 0 }}
  lifecycle:
    preStop:
      exec:
        command: ["sleep", {{ .Values.iamgate.preStopDelaySeconds | quote }}]
  {{- end }}
  resources:
    {{- toYaml .Values.iamgate.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.iamgate.securityContext | nindent 4 }}
  volumeMounts:
    - name: config
      mountPath: /etc/iamgate
      readOnly: true
    {{- if include "iamgate.policiesMounted" . }}
    - name: policies
      mountPath: /app/policies
      readOnly: true
    {{- end }}
    {{- if .Values.secrets.existingSecret }}
    - name: secrets
      mountPath: {{ .Values.secrets.mountPath }}
      readOnly: true
    {{- end }}
    - name: tmp
      mountPath: /tmp
    - name: state
      mountPath: /var/lib/iamgate
    {{- with .Values.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}

{{/* The volumes of the pod. */}}
{{- define "iamgate.volumes" -}}
- name: config
  configMap:
    name: {{ include "iamgate.configMapName" . }}
{{- if include "iamgate.policiesMounted" . }}
- name: policies
  configMap:
    name: {{ include "iamgate.policiesConfigMapName" . }}
    {{- if .Values.policies.existingConfigMap }}
    {{- with .Values.policies.items }}
    items:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- else }}
    items:
      {{- range $path, $content := .Values.policies.files }}
      - key: {{ include "iamgate.policyKey" $path }}
        path: {{ $path }}
      {{- end }}
    {{- end }}
{{- end }}
{{- if .Values.secrets.existingSecret }}
- name: secrets
  secret:
    secretName: {{ .Values.secrets.existingSecret }}
    defaultMode: 0440
    {{- with .Values.secrets.items }}
    items:
      {{- toYaml . | nindent 6 }}
    {{- end }}
{{- end }}
{{- if and (eq .Values.mode "sidecar") .Values.app.mountWorkloadIdentityToken }}
- name: workload-identity
  projected:
    sources:
      - serviceAccountToken:
          audience: {{ .Values.workloadIdentity.audience }}
          expirationSeconds: {{ .Values.workloadIdentity.expirationSeconds }}
          path: token
{{- end }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.scratchSizeLimit }}
- name: state
  emptyDir:
    sizeLimit: {{ .Values.scratchSizeLimit }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Pod-level settings shared by both Deployments. */}}
{{- define "iamgate.podSpecCommon" -}}
serviceAccountName: {{ include "iamgate.serviceAccountName" . }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Annotations of the pods: the checksums, then the user's own. Empty when there are none. */}}
{{- define "iamgate.podAnnotations" -}}
{{- $parts := list (include "iamgate.checksums" . | trim) }}
{{- with .Values.podAnnotations }}
{{- $parts = append $parts (toYaml . | trim) }}
{{- end }}
{{- $parts | compact | join "\n" }}
{{- end }}

{{/* Checks that values.schema.json cannot express: the ports in one pod must differ. */}}
{{- define "iamgate.validate" -}}
{{- if eq (int .Values.iamgate.port) (int .Values.iamgate.opsPort) }}
{{- fail "iamgate.port and iamgate.opsPort must differ" }}
{{- end }}
{{- if and (eq .Values.mode "sidecar") (has (int .Values.app.port) (list (int .Values.iamgate.port) (int .Values.iamgate.opsPort))) }}
{{- fail "app.port must differ from iamgate.port and iamgate.opsPort: the service and iamgate share the pod's network" }}
{{- end }}
{{- end }}
