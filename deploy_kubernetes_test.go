package main

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"realname/config"
	"realname/model/modeltest"
	"realname/service/pii"
)

const kubeDir = "deploy/kubernetes"

// leftAtDefault are the settings the manifests do not set: their defaults
// suit a Kubernetes deployment, or they are for development (the sandbox,
// pprof). A new setting fails TestKubernetesManifests until it is placed
// in configmap.yaml, in the Secret, or here.
var leftAtDefault = []string{
	"REALNAME_PPROF_ADDR", "REALNAME_MAX_BODY_BYTES", "REALNAME_MAX_UPLOAD_BYTES", "REALNAME_REQUEST_TIMEOUT",
	"REALNAME_SANDBOX", "REALNAME_SANDBOX_ADDR", "REALNAME_SESSION_TTL", "REALNAME_SESSIONS_PER_USER",
	"REALNAME_WECHAT_API_BASE", "REALNAME_WECHAT_QPS", "REALNAME_WECHAT_REVIEW_TEMPLATE_ID",
	"REALNAME_WECHAT_REVIEW_TEMPLATE_FIELDS", "REALNAME_WECHAT_REVIEW_PAGE", "REALNAME_WECHAT_MINIPROGRAM_STATE",
	"REALNAME_APIZERO_BASE_URL", "REALNAME_APIZERO_QPS", "REALNAME_APISTORE_APPID", "REALNAME_APISTORE_URL",
	"REALNAME_APISTORE_QPS", "REALNAME_ACEDATA_BASE_URL", "REALNAME_ACEDATA_QPS",
	"REALNAME_POLICY_ATTEMPTS_PER_DAY", "REALNAME_POLICY_UPLOADS_PER_DAY", "REALNAME_POLICY_CHECKS_PER_ID_PER_DAY",
	"REALNAME_POLICY_IDS_PER_ACCOUNT_PER_DAY", "REALNAME_POLICY_GUARDIAN_UNDER", "REALNAME_POLICY_MIN_AGE",
	"REALNAME_POLICY_REQUIRE_BACK", "REALNAME_POLICY_ACCOUNTS_PER_ID", "REALNAME_POLICY_REFUSE_EXPIRED",
	"REALNAME_POLICY_ALLOW_CHECK", "REALNAME_POLICY_IDLE_EXPIRY", "REALNAME_POLICY_STUCK_CHECKING",
	"REALNAME_ADMIN_SESSION_TTL", "REALNAME_ADMIN_IDLE_TIMEOUT", "REALNAME_ADMIN_CLAIM_TTL", "REALNAME_ADMIN_MAX_FAILURES",
	"REALNAME_ADMIN_LOCK_FOR", "REALNAME_ADMIN_REVEAL_TTL", "REALNAME_ADMIN_REVEAL_LIMIT", "REALNAME_ADMIN_REVEAL_LIMIT_WINDOW",
	"REALNAME_PRICES", "REALNAME_SERVER_API_RATE", "REALNAME_API_KEY_USE_RETENTION", "REALNAME_ECHO_READING",
	"REALNAME_FACE_CONSENT_VERSION", "REALNAME_PHOTO_RETENTION", "REALNAME_RATE_LIMIT_WAIT", "REALNAME_IDCHECK_CACHE_TTL",
	"REALNAME_SWEEP_INTERVAL", "REALNAME_WEBHOOK_EVENT_TYPES", "REALNAME_WEBHOOK_ALLOW_PRIVATE", "REALNAME_WEBHOOK_SCHEDULE",
	"REALNAME_WEBHOOK_TIMEOUT", "REALNAME_WEBHOOK_LEASE", "REALNAME_WEBHOOK_WORKERS", "REALNAME_WEBHOOK_BATCH_SIZE",
	"REALNAME_WEBHOOK_POLL_INTERVAL", "REALNAME_WEBHOOK_DISABLE_AFTER", "REALNAME_WEBHOOK_ROTATION_GRACE",
	"REALNAME_WEBHOOK_RETENTION",
}

// kubeManifests are the decoded manifests; every file is decoded strictly
// (an unknown or misspelt field fails) into the Kubernetes API's types.
type kubeManifests struct {
	kustomization struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Namespace  string `json:"namespace"`
		Labels     []struct {
			Pairs            map[string]string `json:"pairs"`
			IncludeSelectors bool              `json:"includeSelectors"`
		} `json:"labels"`
		Resources []string `json:"resources"`
		Images    []struct {
			Name    string `json:"name"`
			NewName string `json:"newName"`
			NewTag  string `json:"newTag"`
		} `json:"images"`
	}
	namespace  corev1.Namespace
	configMap  corev1.ConfigMap
	secret     corev1.Secret
	deployment appsv1.Deployment
	service    corev1.Service
	pdb        policyv1.PodDisruptionBudget
	hpa        autoscalingv2.HorizontalPodAutoscaler
}

func loadKubeManifests(t *testing.T) *kubeManifests {
	t.Helper()
	m := &kubeManifests{}
	into := map[string]any{
		"kustomization.yaml": &m.kustomization, "namespace.yaml": &m.namespace, "configmap.yaml": &m.configMap,
		"secret.example.yaml": &m.secret, "deployment.yaml": &m.deployment, "service.yaml": &m.service,
		"pdb.yaml": &m.pdb, "hpa.yaml": &m.hpa,
	}
	files, _ := filepath.Glob(filepath.Join(kubeDir, "*.yaml"))
	if len(files) != len(into) {
		t.Errorf("%s holds %d manifests, the test knows %d: teach it the new one", kubeDir, len(files), len(into))
	}
	for name, obj := range into {
		b, err := os.ReadFile(filepath.Join(kubeDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.UnmarshalStrict(b, obj); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return m
}

func TestKubernetesManifests(t *testing.T) {
	m := loadKubeManifests(t)
	kinds := map[string]string{"namespace.yaml": m.namespace.Kind, "configmap.yaml": m.configMap.Kind,
		"deployment.yaml": m.deployment.Kind, "service.yaml": m.service.Kind, "pdb.yaml": m.pdb.Kind, "hpa.yaml": m.hpa.Kind,
		"secret.example.yaml": m.secret.Kind}
	want := map[string]string{"namespace.yaml": "Namespace", "configmap.yaml": "ConfigMap", "deployment.yaml": "Deployment",
		"service.yaml": "Service", "pdb.yaml": "PodDisruptionBudget", "hpa.yaml": "HorizontalPodAutoscaler", "secret.example.yaml": "Secret"}
	for f, k := range want {
		if kinds[f] != k {
			t.Errorf("%s: kind %q, want %s", f, kinds[f], k)
		}
	}
	// The kustomization applies everything but the Secret, which comes
	// from the operator's secret store.
	res := slices.Clone(m.kustomization.Resources)
	sort.Strings(res)
	if !slices.Equal(res, []string{"configmap.yaml", "deployment.yaml", "hpa.yaml", "namespace.yaml", "pdb.yaml", "service.yaml"}) {
		t.Errorf("kustomization resources = %v", res)
	}

	pod := m.deployment.Spec.Template
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	cfg := configFromManifests(t, m, c)

	// Ports: the container's, the probes', the Service's and the
	// scrape annotation all agree with the configuration.
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if got, want := ports["http"], addrPort(t, cfg.HTTPAddr); got != want {
		t.Errorf("containerPort http = %d, REALNAME_HTTP_ADDR listens on %d", got, want)
	}
	if got, want := ports["http"], addrPort(t, config.Default().HTTPAddr); got != want {
		t.Errorf("containerPort http = %d, the default listen port is %d", got, want)
	}
	if got, want := ports["metrics"], addrPort(t, cfg.MetricsAddr); got != want {
		t.Errorf("containerPort metrics = %d, REALNAME_METRICS_ADDR listens on %d", got, want)
	}
	if a := pod.Annotations["prometheus.io/port"]; a != strconv.Itoa(int(ports["metrics"])) {
		t.Errorf("prometheus.io/port = %q, want the metrics port %d", a, ports["metrics"])
	}
	for _, sp := range m.service.Spec.Ports {
		if _, ok := ports[sp.TargetPort.StrVal]; !ok {
			t.Errorf("service port %s targets %q, no such container port", sp.Name, sp.TargetPort.String())
		}
	}
	probes := map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe}
	wantPath := map[string]string{"liveness": "/healthz", "readiness": "/readyz", "startup": "/healthz"}
	for name, p := range probes {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("no HTTP %s probe", name)
			continue
		}
		port := p.HTTPGet.Port.IntVal
		if p.HTTPGet.Port.StrVal != "" {
			port = ports[p.HTTPGet.Port.StrVal]
		}
		if port != ports["http"] || p.HTTPGet.Path != wantPath[name] {
			t.Errorf("%s probe: %s on %d, want %s on the http port %d", name, p.HTTPGet.Path, port, wantPath[name], ports["http"])
		}
	}

	// SIGKILL comes after the grace period: it must cover the preStop
	// pause, the requests' shutdown and the webhook POSTs in flight.
	var pause int64
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		pause = c.Lifecycle.PreStop.Sleep.Seconds
	}
	needed := time.Duration(pause)*time.Second + cfg.ShutdownTimeout + cfg.Webhook.Timeout
	var grace int64 = 30 // Kubernetes' default
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = *g
	}
	if time.Duration(grace)*time.Second <= needed {
		t.Errorf("terminationGracePeriodSeconds %d, must exceed preStop %ds + REALNAME_SHUTDOWN_TIMEOUT %s + REALNAME_WEBHOOK_TIMEOUT %s",
			grace, pause, cfg.ShutdownTimeout, cfg.Webhook.Timeout)
	}

	checkPodSecurity(t, pod.Spec, c, cfg)

	// The PDB, the Service and the HPA find the Deployment's pods.
	podLabels := labels.Set(pod.Labels)
	sel := labels.SelectorFromSet(m.service.Spec.Selector)
	if !sel.Matches(podLabels) {
		t.Errorf("service selector %v misses the pods %v", m.service.Spec.Selector, pod.Labels)
	}
	if m.pdb.Spec.Selector == nil || !labels.SelectorFromSet(m.pdb.Spec.Selector.MatchLabels).Matches(podLabels) {
		t.Errorf("PDB selector misses the pods")
	}
	if r := m.hpa.Spec.ScaleTargetRef; r.Kind != "Deployment" || r.Name != m.deployment.Name {
		t.Errorf("HPA scales %s/%s", r.Kind, r.Name)
	}
	if m.hpa.Spec.MinReplicas == nil || *m.hpa.Spec.MinReplicas < 2 {
		t.Errorf("HPA minReplicas %v: one instance is an outage at every rollout", m.hpa.Spec.MinReplicas)
	}

	// The probes' paths answer on the real server, with its router.
	s := startService(t, modeltest.Backends()[0], nil)
	for _, path := range wantPath {
		resp, err := http.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d on a running server", path, resp.StatusCode)
		}
	}
}

// configFromManifests loads the configuration exactly as the pod would:
// the ConfigMap's variables, the Deployment's env, and the Secret's keys
// as files, with test values standing in for the secrets a production
// start needs. Every REALNAME_* setting must be placed somewhere.
func configFromManifests(t *testing.T, m *kubeManifests, c corev1.Container) config.Config {
	t.Helper()
	secretDir := ""
	for _, vm := range c.VolumeMounts {
		for _, v := range m.deployment.Spec.Template.Spec.Volumes {
			if v.Name == vm.Name && v.Secret != nil && v.Secret.SecretName == m.secret.Name {
				secretDir = vm.MountPath
			}
		}
	}
	if secretDir == "" {
		t.Fatalf("the Secret %s is not mounted", m.secret.Name)
	}
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].ConfigMapRef == nil || c.EnvFrom[0].ConfigMapRef.Name != m.configMap.Name {
		t.Fatalf("envFrom %+v, want the ConfigMap %s", c.EnvFrom, m.configMap.Name)
	}
	files := t.TempDir()
	spec, _ := pii.GenerateKeySpec()
	stand := map[string]string{"master-key": spec, "wechat-secret": strings.Repeat("s", 32)}
	env := []string{}
	where := map[string]string{} // setting → where the manifests set it
	for k, v := range m.configMap.Data {
		env = append(env, k+"="+v)
		where[k] = "configmap"
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			t.Errorf("%s from %+v: secrets come as files (*_FILE)", e.Name, e.ValueFrom)
			continue
		}
		key, isFile := strings.CutSuffix(e.Name, "_FILE")
		if !isFile || filepath.Dir(e.Value) != secretDir {
			t.Errorf("env %s=%s: only *_FILE paths into %s belong in env", e.Name, e.Value, secretDir)
			continue
		}
		file := filepath.Base(e.Value)
		value, ok := m.secret.StringData[file]
		if !ok {
			t.Errorf("%s names %s, which secret.example.yaml lacks", e.Name, file)
		}
		if sv, ok := stand[file]; ok {
			value = sv
		}
		if err := os.WriteFile(filepath.Join(files, file), []byte(value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		env = append(env, e.Name+"="+filepath.Join(files, file))
		if where[key] != "" {
			t.Errorf("%s is set twice", key)
		}
		where[key] = "secret"
	}
	if len(m.secret.StringData) != len(c.Env) {
		t.Errorf("secret.example.yaml has %d keys, the Deployment reads %d", len(m.secret.StringData), len(c.Env))
	}
	for _, k := range leftAtDefault {
		if where[k] != "" {
			t.Errorf("%s is in leftAtDefault and set in the %s", k, where[k])
		}
		where[k] = "default"
	}
	for _, f := range config.Fields() {
		switch {
		case where[f.Key] == "":
			t.Errorf("%s: neither in configmap.yaml, nor a *_FILE from the Secret, nor in leftAtDefault", f.Key)
		case f.Secret && where[f.Key] != "secret":
			t.Errorf("%s is a secret, set in the %s: give it as %s_FILE from the Secret", f.Key, where[f.Key], f.Key)
		case !f.Secret && where[f.Key] == "secret":
			t.Errorf("%s is no secret; put it in configmap.yaml", f.Key)
		}
		delete(where, f.Key)
	}
	for k := range where {
		t.Errorf("%s is set in the %s but is no setting of realname", k, where[k])
	}
	// The pod's own configuration, as production validates it; only the
	// app id, which the operator must fill in, is supplied.
	env = append(slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "REALNAME_WECHAT_APPID=") }),
		"REALNAME_WECHAT_APPID=wx0123456789abcdef")
	cfg, err := config.Load(env)
	if err != nil {
		t.Fatalf("the manifests' configuration does not load: %v", err)
	}
	if !cfg.Production() {
		t.Error("the manifests do not run in production mode")
	}
	return cfg
}

// checkPodSecurity: non-root as the image's user, nothing to escalate
// with, a read-only root with writable /tmp and data directory.
func checkPodSecurity(t *testing.T, spec corev1.PodSpec, c corev1.Container, cfg config.Config) {
	t.Helper()
	psc, sc := spec.SecurityContext, c.SecurityContext
	if psc == nil || sc == nil {
		t.Fatal("no securityContext")
	}
	user := regexp.MustCompile(`(?m)^USER (\d+)`).FindStringSubmatch(readFile(t, "Dockerfile"))
	if user == nil || psc.RunAsUser == nil || strconv.FormatInt(*psc.RunAsUser, 10) != user[1] {
		t.Errorf("runAsUser %v, the image's USER %v", psc.RunAsUser, user)
	}
	if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Error("runAsNonRoot not set")
	}
	if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("seccompProfile is not RuntimeDefault")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("root filesystem not read-only")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation not false")
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		t.Errorf("capabilities %+v, want drop ALL", sc.Capabilities)
	}
	mounts := map[string]bool{}
	for _, vm := range c.VolumeMounts {
		mounts[vm.MountPath] = !vm.ReadOnly
	}
	for _, dir := range []string{"/tmp", cfg.DataDir} {
		if !mounts[dir] {
			t.Errorf("%s is not a writable volume; the root is read-only", dir)
		}
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Error("no CPU request or memory limit")
	}
	if limit := c.Resources.Limits.Memory().Value(); limit < 2*cfg.ImageMemory {
		t.Errorf("memory limit %d leaves too little beside REALNAME_IMAGE_MEMORY %d", limit, cfg.ImageMemory)
	}
}

func addrPort(t *testing.T, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%q: %v", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("%q: %v", addr, err)
	}
	return int32(n)
}
