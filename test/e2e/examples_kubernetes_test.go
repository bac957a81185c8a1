//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/toml"
	"github.com/influxdata/toml/ast"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/iperfmon/iperfmon/config"
)

// No cluster runs in CI, so the Kubernetes examples are checked as far as
// a file can be: every document decodes STRICTLY into its k8s.io/api type
// (unknown, misspelt or duplicate fields fail, as `kubectl apply
// --validate=strict` would), the pieces refer to each other correctly, the
// embedded Telegraf and iperfmon configs parse with their real parsers, and
// the server container's arguments start a real `iperfmon server`.
func TestExampleKubernetesManifests(t *testing.T) {
	for _, tc := range []struct {
		file  string
		kinds []string
		mesh  bool
	}{
		{"kubernetes/fleet.yaml", []string{"ConfigMap", "DaemonSet"}, false},
		{"kubernetes/mesh.yaml", []string{"ConfigMap", "DaemonSet", "Service"}, true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			objs := decodeManifests(t, []byte(readExample(t, tc.file)))
			var kinds []string
			cms := map[string]*corev1.ConfigMap{}
			var ds *appsv1.DaemonSet
			var svc *corev1.Service
			for _, o := range objs {
				switch v := o.(type) {
				case *corev1.ConfigMap:
					kinds = append(kinds, "ConfigMap")
					cms[v.Name] = v
				case *appsv1.DaemonSet:
					kinds = append(kinds, "DaemonSet")
					ds = v
				case *corev1.Service:
					kinds = append(kinds, "Service")
					svc = v
				}
			}
			require.Equal(t, tc.kinds, kinds)
			for _, o := range objs {
				require.Equal(t, "iperfmon", o.(metav1.Object).GetNamespace(), "every object in namespace iperfmon")
			}
			checkDaemonSet(t, ds, cms, tc.mesh)
			if svc != nil {
				checkHeadlessService(t, svc, ds)
			}
		})
	}
}

// The strict decoder is what makes the test above worth anything: each of
// these mistakes must fail it.
func TestKubernetesDecodingIsStrict(t *testing.T) {
	good := readExample(t, "kubernetes/fleet.yaml")
	for _, tc := range []struct{ name, old, new string }{
		{"unknown field", "terminationGracePeriodSeconds: 15", "terminationGracePeriodSeconds: 15\n      restartPolicyy: Always"},
		{"wrong case", "readOnlyRootFilesystem: true", "ReadOnlyRootFilesystem: true"},
		{"duplicate field", "runAsNonRoot: true", "runAsNonRoot: true\n        runAsNonRoot: false"},
		{"wrong type", "runAsUser: 65532", "runAsUser: nobody"},
		{"unknown kind", "kind: DaemonSet", "kind: DaemonSett"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Contains(t, good, tc.old)
			bad := strings.Replace(good, tc.old, tc.new, 1)
			var err error
			for _, doc := range splitYAML([]byte(bad)) {
				if _, err = decodeStrict(doc); err != nil {
					break
				}
			}
			require.Error(t, err, "accepted:\n%s", bad)
			t.Log(err)
		})
	}
}

// splitYAML cuts a multi-document stream at its "---" lines.
func splitYAML(b []byte) [][]byte {
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
		if strings.TrimSpace(regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(d, "")) != "" {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func decodeManifests(t *testing.T, b []byte) []any {
	t.Helper()
	var out []any
	for i, doc := range splitYAML(b) {
		o, err := decodeStrict(doc)
		require.NoError(t, err, "document %d", i+1)
		out = append(out, o)
	}
	return out
}

// decodeStrict decodes one YAML document into the type its apiVersion and
// kind name.
func decodeStrict(doc []byte) (any, error) {
	j, err := yaml.YAMLToJSONStrict(doc) // duplicate keys fail here
	if err != nil {
		return nil, err
	}
	var tm metav1.TypeMeta
	if err := kjson.UnmarshalCaseSensitivePreserveInts(j, &tm); err != nil {
		return nil, err
	}
	types := map[string]any{
		"v1/ConfigMap":      &corev1.ConfigMap{},
		"v1/Service":        &corev1.Service{},
		"apps/v1/DaemonSet": &appsv1.DaemonSet{},
	}
	o, ok := types[tm.APIVersion+"/"+tm.Kind]
	if !ok {
		return nil, fmt.Errorf("apiVersion %q kind %q: not one of the kinds the examples use", tm.APIVersion, tm.Kind)
	}
	strict, err := kjson.UnmarshalStrict(j, o, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return nil, err
	}
	if len(strict) > 0 {
		return nil, fmt.Errorf("%s: %v", tm.Kind, strict)
	}
	return o, nil
}

func checkDaemonSet(t *testing.T, ds *appsv1.DaemonSet, cms map[string]*corev1.ConfigMap, mesh bool) {
	t.Helper()
	require.NotNil(t, ds)
	spec := ds.Spec.Template.Spec
	require.NotNil(t, ds.Spec.Selector)
	for k, v := range ds.Spec.Selector.MatchLabels {
		require.Equal(t, v, ds.Spec.Template.Labels[k], "the selector must match the pod template's labels")
	}

	// Non-root, no privileges, read-only root.
	psc := spec.SecurityContext
	require.NotNil(t, psc)
	require.True(t, psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
	require.True(t, psc.RunAsUser != nil && *psc.RunAsUser > 0, "a numeric non-root user: kubelet cannot check a named one")
	require.True(t, psc.SeccompProfile != nil && psc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault, "seccomp RuntimeDefault")
	for _, c := range spec.Containers {
		sc := c.SecurityContext
		require.NotNil(t, sc, c.Name)
		require.False(t, sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation, c.Name)
		require.True(t, sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem, c.Name)
		require.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop, c.Name)
	}
	if mesh {
		require.True(t, spec.HostNetwork, "mesh agents are reached at their node's address")
		require.Equal(t, corev1.DNSClusterFirstWithHostNet, spec.DNSPolicy)
	} else {
		// Pod Security "restricted" (docs/deploy.md): no host namespaces or ports.
		require.False(t, spec.HostNetwork || spec.HostPID || spec.HostIPC)
		for _, c := range spec.Containers {
			for _, p := range c.Ports {
				require.Zero(t, p.HostPort, "container %s port %s", c.Name, p.Name)
			}
		}
	}

	// Mounts name volumes; config volumes name a ConfigMap of this file
	// and subPaths name its keys.
	vols := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		vols[v.Name] = v
	}
	files := map[string]string{} // mount path -> file contents
	for _, c := range spec.Containers {
		for _, m := range c.VolumeMounts {
			v, ok := vols[m.Name]
			require.True(t, ok, "container %s mounts unknown volume %q", c.Name, m.Name)
			require.NotNil(t, v.ConfigMap, "volume %s", v.Name)
			cm, ok := cms[v.ConfigMap.Name]
			require.True(t, ok, "volume %s names ConfigMap %q, not in this file", v.Name, v.ConfigMap.Name)
			data, ok := cm.Data[m.SubPath]
			require.True(t, ok, "subPath %q is not a key of ConfigMap %s", m.SubPath, cm.Name)
			files[m.MountPath] = data
		}
	}

	var telegraf, server *corev1.Container
	for i := range spec.Containers {
		switch spec.Containers[i].Name {
		case "telegraf":
			telegraf = &spec.Containers[i]
		case "server":
			server = &spec.Containers[i]
		}
	}
	require.NotNil(t, telegraf)
	require.NotNil(t, server)

	// The node's name comes from the downward API.
	var nodeName *corev1.EnvVar
	for i, e := range telegraf.Env {
		if e.Name == "NODE_NAME" {
			nodeName = &telegraf.Env[i]
		}
	}
	require.NotNil(t, nodeName, "NODE_NAME in the telegraf container")
	require.NotNil(t, nodeName.ValueFrom)
	require.NotNil(t, nodeName.ValueFrom.FieldRef)
	require.Equal(t, "spec.nodeName", nodeName.ValueFrom.FieldRef.FieldPath)

	require.Equal(t, []string{"telegraf", "--config", "/etc/telegraf/telegraf.conf"}, telegraf.Command)
	tgConf, ok := files["/etc/telegraf/telegraf.conf"]
	require.True(t, ok, "telegraf.conf is mounted where the command reads it")
	execd := checkTelegrafConf(t, tgConf)
	i := slices.Index(execd, "--config")
	require.True(t, i >= 0 && i+1 < len(execd), "execd command %q has --config FILE", execd)
	conf, ok := files[execd[i+1]]
	require.True(t, ok, "iperfmon's --config %s is a mounted ConfigMap key", execd[i+1])
	tables := parseIperfmonTOML(t, conf)

	// Telegraf puts the node's name in --agent; it must be a fleet or mesh member.
	require.Equal(t, []string{"iperfmon", "run"}, execd[:2])
	a := slices.Index(execd, "--agent")
	require.True(t, a > 0 && a+1 < len(execd) && execd[a+1] == "${NODE_NAME}", "execd command %q passes --agent ${NODE_NAME}", execd)
	members := fleetMembers(t, conf, mesh)
	require.GreaterOrEqual(t, len(members), 3)
	require.Len(t, tables, 1)

	// The server container's arguments start a real iperfmon server; its
	// port is declared for TCP and UDP (iperf3 uses one port for both).
	require.Equal(t, "server", server.Args[0])
	srv := startIperfmonServer(t, server.Args[1:]...)
	srv.stop()
	protos := map[corev1.Protocol]bool{}
	for _, p := range server.Ports {
		require.EqualValues(t, 5201, p.ContainerPort)
		if mesh {
			require.Equal(t, p.ContainerPort, p.HostPort, "with hostNetwork the host port is the container port")
		}
		protos[p.Protocol] = true
	}
	require.Equal(t, map[corev1.Protocol]bool{"TCP": true, "UDP": true}, protos)
}

// checkTelegrafConf parses telegraf.conf with the TOML parser Telegraf uses
// and returns the execd command after Telegraf's ${VAR} substitution is
// left undone (the test checks the placeholder itself).
func checkTelegrafConf(t *testing.T, conf string) []string {
	t.Helper()
	root, err := toml.Parse([]byte(conf))
	require.NoError(t, err, "telegraf.conf:\n%s", conf)
	agent := root.Fields["agent"].(*ast.Table)
	require.Equal(t, `"${NODE_NAME}"`, agent.Fields["hostname"].(*ast.KeyValue).Value.Source(), "points carry the node name")
	inputs := root.Fields["inputs"].(*ast.Table)
	execds := inputs.Fields["execd"].([]*ast.Table)
	require.Len(t, execds, 1)
	var execd struct {
		Command      []string `toml:"command"`
		Signal       string   `toml:"signal"`
		DataFormat   string   `toml:"data_format"`
		RestartDelay string   `toml:"restart_delay"`
	}
	require.NoError(t, toml.UnmarshalTable(execds[0], &execd))
	require.Equal(t, "none", execd.Signal, "iperfmon keeps its own schedule")
	require.Equal(t, "influx", execd.DataFormat)
	require.NotEmpty(t, execd.RestartDelay)
	outputs := root.Fields["outputs"].(*ast.Table)
	require.Contains(t, outputs.Fields, "influxdb")
	return execd.Command
}

// parseIperfmonTOML parses iperfmon.toml with the loader `iperfmon run`
// uses, as the agent the DaemonSet names with --agent on node-b.
func parseIperfmonTOML(t *testing.T, text string) []config.Table {
	t.Helper()
	tables, err := config.Parse([]byte(text), config.WithAgent("node-b"))
	require.NoError(t, err, "iperfmon.toml:\n%s", text)
	return tables
}

// fleetMembers returns the agent names of the fleet (or mesh) list, read
// with the TOML parser so that it does not depend on the config build.
func fleetMembers(t *testing.T, text string, mesh bool) []string {
	t.Helper()
	root, err := toml.Parse([]byte(text))
	require.NoError(t, err)
	tb := root.Fields["inputs"].(*ast.Table).Fields["iperf3"].([]*ast.Table)[0]
	list := func(key string) []string {
		kv, ok := tb.Fields[key].(*ast.KeyValue)
		if !ok {
			return nil
		}
		arr, ok := kv.Value.(*ast.Array)
		require.True(t, ok, "%s is a list", key)
		var out []string
		for _, v := range arr.Value {
			s, ok := v.(*ast.String)
			require.True(t, ok, "%s holds strings", key)
			out = append(out, s.Value)
		}
		return out
	}
	if !mesh {
		require.NotEmpty(t, list("servers"), "a fleet tests shared servers")
		require.Empty(t, list("mesh"))
		return list("fleet")
	}
	require.Empty(t, list("servers"), "mesh and servers are exclusive")
	require.Empty(t, list("fleet"), "mesh and fleet are exclusive")
	var names []string
	for _, m := range list("mesh") {
		name, host, ok := strings.Cut(m, "=")
		require.True(t, ok && name != "" && host != "", "mesh entry %q: want name=host[:port]", m)
		_, _, err := config.ParseServer(host)
		require.NoError(t, err, "mesh entry %q", m)
		names = append(names, name)
	}
	return names
}

func checkHeadlessService(t *testing.T, svc *corev1.Service, ds *appsv1.DaemonSet) {
	t.Helper()
	require.Equal(t, corev1.ClusterIPNone, svc.Spec.ClusterIP, "headless")
	require.Equal(t, ds.Spec.Template.Labels, svc.Spec.Selector, "the Service selects the agents")
	named := map[string]corev1.Protocol{}
	for _, c := range ds.Spec.Template.Spec.Containers {
		for _, p := range c.Ports {
			named[p.Name] = p.Protocol
		}
	}
	protos := map[corev1.Protocol]bool{}
	for _, p := range svc.Spec.Ports {
		require.EqualValues(t, 5201, p.Port)
		proto, ok := named[p.TargetPort.StrVal]
		require.True(t, ok, "targetPort %q is a named container port", p.TargetPort.StrVal)
		require.Equal(t, p.Protocol, proto, "targetPort %q", p.TargetPort.StrVal)
		protos[p.Protocol] = true
	}
	require.Equal(t, map[corev1.Protocol]bool{"TCP": true, "UDP": true}, protos)
}

// fakeIperfmon stands in for `iperfmon run`: it prints one point with the
// arguments it was given, then waits until Telegraf closes its stdin, as
// execd does on stop.
const fakeIperfmon = `#!/bin/sh
agent= config=
while [ $# -gt 0 ]; do
	case "$1" in
	--agent) agent=$2 ;;
	--config) config=$2 ;;
	esac
	shift
done
printf 'k8s_execd agent="%s",config="%s"\n' "$agent" "$config"
exec cat >/dev/null
`

// Telegraf itself, run with the ConfigMap's telegraf.conf and NODE_NAME set
// as the downward API sets it, passes the node's name to iperfmon as
// --agent and tags points with it as host. iperfmon is a script here that
// reports its arguments (`iperfmon run --agent` is tested with the binary).
func TestExampleKubernetesTelegrafPassesNodeName(t *testing.T) {
	telegraf := requireTelegraf(t)
	t.Setenv("NODE_NAME", "node-b")
	for _, file := range []string{"kubernetes/fleet.yaml", "kubernetes/mesh.yaml"} {
		t.Run(file, func(t *testing.T) {
			var conf string
			for _, o := range decodeManifests(t, []byte(readExample(t, file))) {
				if cm, ok := o.(*corev1.ConfigMap); ok {
					conf = cm.Data["telegraf.conf"]
				}
			}
			dir := t.TempDir()
			script := filepath.Join(dir, "iperfmon")
			require.NoError(t, os.WriteFile(script, []byte(fakeIperfmon), 0o755))
			out := filepath.Join(dir, "points.out")
			tg := replaceAll(t, conf, `"iperfmon", "run"`, fmt.Sprintf("%q, %q", script, "run"))
			tg = replaceAll(t, tg, `flush_interval = "10s"`, `flush_interval = "1s"`)
			// The cluster's InfluxDB becomes a file.
			i := strings.Index(tg, "[[outputs.influxdb]]")
			require.GreaterOrEqual(t, i, 0)
			tg = tg[:i] + fmt.Sprintf("[[outputs.file]]\n  files = [%q]\n  data_format = \"influx\"\n", out)
			tgPath := filepath.Join(dir, "telegraf.conf")
			require.NoError(t, os.WriteFile(tgPath, []byte(tg), 0o644))
			p := startProc(t, "telegraf", telegraf, "--config", tgPath)

			var line string
			require.Eventually(t, func() bool {
				b, _ := os.ReadFile(out)
				line, _, _ = strings.Cut(string(b), "\n")
				return strings.HasPrefix(line, "k8s_execd") || p.exited()
			}, 30*time.Second, 100*time.Millisecond, "no point from execd")
			require.Regexp(t, `^k8s_execd,host=node-b agent="node-b",config="/etc/iperfmon/iperfmon\.toml" \d+$`, line)
			p.stop(5 * time.Second)
		})
	}
}
