package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeArchives writes random archives into dir and returns their sha256s.
func writeArchives(t *testing.T, dir string, names ...string) map[string]string {
	t.Helper()
	sums := map[string]string{}
	for _, n := range names {
		data := make([]byte, 512)
		if _, err := rand.Read(data); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), data, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		sums[n] = hex.EncodeToString(sum[:])
	}
	return sums
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// addURIAndSha as krew.yaml calls it, inline at 4 spaces; URLs use .TagName
// and .Version.
const botTemplate = `apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: demo
spec:
  version: {{ .TagName }}
  shortDescription: a demo
  platforms:
  - selector:
      matchLabels:
        os: linux
        arch: amd64
    {{ addURIAndSha "https://example.com/d/{{ .TagName }}/demo_{{ .TagName }}_linux_amd64.tar.gz" .TagName }}
    bin: demo
  - selector:
      matchLabels:
        os: windows
        arch: amd64
    {{ addURIAndSha "https://example.com/d/{{ .TagName }}/demo_{{ .Version }}_windows_amd64.zip" .TagName }}
    bin: demo.exe
`

func TestRenderAsTheBotDoes(t *testing.T) {
	dir := t.TempDir()
	sums := writeArchives(t, dir, "demo_v1.2.3_linux_amd64.tar.gz", "demo_1.2.3_windows_amd64.zip")
	o := options{template: writeFile(t, filepath.Join(dir, "krew.yaml"), botTemplate), tag: "v1.2.3", archives: dir, out: filepath.Join(dir, "plugins")}
	path, err := o.run()
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, "plugins", "demo.yaml") {
		t.Errorf("written to %s, want plugins/demo.yaml", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseManifest(data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if m.Spec.Version != "v1.2.3" {
		t.Errorf("version %q", m.Spec.Version)
	}
	want := map[string]platform{}
	for _, p := range []struct{ key, uri, archive, bin string }{
		{"linux/amd64", "https://example.com/d/v1.2.3/demo_v1.2.3_linux_amd64.tar.gz", "demo_v1.2.3_linux_amd64.tar.gz", "demo"},
		{"windows/amd64", "https://example.com/d/v1.2.3/demo_1.2.3_windows_amd64.zip", "demo_1.2.3_windows_amd64.zip", "demo.exe"},
	} {
		want[p.key] = platform{URI: p.uri, Sha256: sums[p.archive], Bin: p.bin}
	}
	got := byPlatform(m)
	if len(got) != len(want) {
		t.Fatalf("platforms %v, want %v", got, want)
	}
	for k, w := range want {
		g := got[k]
		if g.URI != w.URI || g.Sha256 != w.Sha256 || g.Bin != w.Bin {
			t.Errorf("%s: got %s %s %s, want %s %s %s", k, g.URI, g.Sha256, g.Bin, w.URI, w.Sha256, w.Bin)
		}
	}
}

// Templates whose platforms sit deeper pipe addURIAndSha through indent.
func TestIndent(t *testing.T) {
	dir := t.TempDir()
	sums := writeArchives(t, dir, "demo_linux_amd64.tar.gz")
	const deeper = `apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: demo
spec:
  version: {{ .TagName }}
  shortDescription: a demo
  platforms:
    - selector:
        matchLabels:
          os: linux
          arch: amd64
      {{ addURIAndSha "https://example.com/d/{{ .TagName }}/demo_linux_amd64.tar.gz" .TagName | indent 6 }}
      bin: demo
`
	o := options{template: writeFile(t, filepath.Join(dir, "krew.yaml"), deeper), tag: "v1.2.3", archives: dir, out: dir}
	path, err := o.run()
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), "\n      uri: https://example.com/d/v1.2.3/demo_linux_amd64.tar.gz\n      sha256: "+sums["demo_linux_amd64.tar.gz"]+"\n      bin: demo\n") {
		t.Errorf("uri and sha256 not at 6 spaces:\n%s", data)
	}
}

func TestMissingArchive(t *testing.T) {
	dir := t.TempDir()
	sums := writeArchives(t, dir, "demo_v1.2.3_linux_amd64.tar.gz")
	tmpl := writeFile(t, filepath.Join(dir, "krew.yaml"), botTemplate)
	o := options{template: tmpl, tag: "v1.2.3", archives: dir, out: filepath.Join(dir, "plugins")}
	if _, err := o.run(); err == nil || !strings.Contains(err.Error(), "demo_1.2.3_windows_amd64.zip is not in") {
		t.Fatalf("want an error naming the missing archive, got %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "plugins", "demo.yaml")); !os.IsNotExist(err) {
		t.Errorf("a manifest was written despite the error: %v", err)
	}

	// A host-only snapshot: the platforms without an archive are left out.
	o.onlyPresent = true
	path, err := o.run()
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	m, err := parseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Spec.Platforms) != 1 || m.Spec.Platforms[0].key() != "linux/amd64" || m.Spec.Platforms[0].Sha256 != sums["demo_v1.2.3_linux_amd64.tar.gz"] {
		t.Errorf("want only linux/amd64 with its checksum, got %+v", m.Spec.Platforms)
	}

	o.archives = t.TempDir()
	if _, err := o.run(); err == nil || !strings.Contains(err.Error(), "none of the archives") {
		t.Errorf("no archive at all must fail, got %v", err)
	}
}

func TestTagFromSnapshotMetadata(t *testing.T) {
	dir := t.TempDir()
	writeArchives(t, dir, "demo_v0.0.1-snapshot-abc1234_linux_amd64.tar.gz", "demo_0.0.1_windows_amd64.zip")
	writeFile(t, filepath.Join(dir, "metadata.json"), `{"project_name":"demo","tag":"v0.0.0","version":"0.0.1-snapshot-abc1234"}`)
	o := options{template: writeFile(t, filepath.Join(dir, "krew.yaml"), botTemplate), archives: dir, out: dir}
	path, err := o.run()
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if m, _ := parseManifest(data); m.Spec.Version != "v0.0.1-snapshot-abc1234" {
		t.Errorf("version %q, want the snapshot's", m.Spec.Version)
	}

	o.archives = t.TempDir()
	if _, err := o.run(); err == nil || !strings.Contains(err.Error(), "no -tag") {
		t.Errorf("no tag and no metadata must fail, got %v", err)
	}
}

func TestCompare(t *testing.T) {
	dir := t.TempDir()
	writeArchives(t, dir, "demo_v1.2.3_linux_amd64.tar.gz", "demo_1.2.3_windows_amd64.zip")
	tmpl := writeFile(t, filepath.Join(dir, "krew.yaml"), botTemplate)
	o := options{template: tmpl, tag: "v1.2.3", archives: dir, out: filepath.Join(dir, "first")}
	first, err := o.run()
	if err != nil {
		t.Fatal(err)
	}
	o.out, o.compare = filepath.Join(dir, "second"), first
	if _, err := o.run(); err != nil {
		t.Fatalf("a manifest must agree with itself: %v", err)
	}

	// The same archive names with other contents: every checksum differs.
	writeArchives(t, dir, "demo_v1.2.3_linux_amd64.tar.gz", "demo_1.2.3_windows_amd64.zip")
	_, err = o.run()
	for _, want := range []string{"platform linux/amd64 sha256", "platform windows/amd64 sha256"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}

	// A platform goreleaser built that the template does not name, and back.
	data, _ := os.ReadFile(first)
	writeFile(t, first, strings.Replace(string(data), "os: windows", "os: darwin", 1))
	_, err = o.run()
	for _, want := range []string{"platform darwin/amd64: missing", "platform windows/amd64: not expected"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
}

// The repository's own template names the six archives goreleaser builds
// (.goreleaser.yaml's archives.name_template) with the right binaries.
func TestRepositoryTemplate(t *testing.T) {
	dir := t.TempDir()
	archive := map[string]string{} // os/arch → archive
	for _, goos := range []string{"linux", "darwin", "windows"} {
		for _, arch := range []string{"amd64", "arm64"} {
			ext := ".tar.gz"
			if goos == "windows" {
				ext = ".zip"
			}
			archive[goos+"/"+arch] = "kubectl-harden_v1.2.3_" + goos + "_" + arch + ext
			writeArchives(t, dir, archive[goos+"/"+arch])
		}
	}
	o := options{template: "../../krew.yaml", tag: "v1.2.3", archives: dir, out: dir}
	path, err := o.run()
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "harden.yaml" {
		t.Errorf("plugin manifest %s, want harden.yaml", path)
	}
	data, _ := os.ReadFile(path)
	m, err := parseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	got := byPlatform(m)
	if len(got) != 6 || len(m.Spec.Platforms) != 6 {
		t.Fatalf("want 6 distinct platforms, got %d of %d", len(got), len(m.Spec.Platforms))
	}
	for k, p := range got {
		bin := "kubectl-harden"
		if strings.HasPrefix(k, "windows/") {
			bin += ".exe"
		}
		if p.Bin != bin || !strings.HasSuffix(p.URI, "/v1.2.3/"+archive[k]) {
			t.Errorf("%s: bin %s, uri %s", k, p.Bin, p.URI)
		}
	}
}
