package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"sigs.k8s.io/yaml"
)

type options struct {
	template, tag, archives, out, compare string
	// onlyPresent drops the platforms whose archive is not in archives (a
	// snapshot built for the host only) instead of failing.
	onlyPresent bool
}

// run renders, writes and (optionally) compares; it returns the written path.
func (o options) run() (string, error) {
	if o.tag == "" {
		tag, err := snapshotTag(o.archives)
		if err != nil {
			return "", err
		}
		o.tag = tag
	}
	missing := map[string]bool{}
	rendered, err := render(o.template, o.tag, o.archives, func(url string) error {
		if !o.onlyPresent {
			return fmt.Errorf("release archive %s is not in %s", path.Base(url), o.archives)
		}
		missing[url] = true
		return nil
	})
	if err != nil {
		return "", err
	}
	m, err := parseManifest(rendered)
	if err != nil {
		return "", fmt.Errorf("rendered %s: %w", o.template, err)
	}
	if m.Metadata.Name == "" {
		return "", fmt.Errorf("rendered %s: metadata.name is empty", o.template)
	}
	if len(missing) > 0 {
		m.Spec.Platforms = slices.DeleteFunc(m.Spec.Platforms, func(p platform) bool { return missing[p.URI] })
		if len(m.Spec.Platforms) == 0 {
			return "", fmt.Errorf("none of the archives %s names is in %s", o.template, o.archives)
		}
		// The bot's text minus some platforms: written from the parsed form.
		if rendered, err = yaml.Marshal(m); err != nil {
			return "", err
		}
	}
	if o.compare != "" {
		data, err := os.ReadFile(o.compare)
		if err != nil {
			return "", err
		}
		want, err := parseManifest(data)
		if err != nil {
			return "", fmt.Errorf("%s: %w", o.compare, err)
		}
		if err := sameManifest(m, want); err != nil {
			return "", fmt.Errorf("rendered %s and %s disagree:\n%w", o.template, o.compare, err)
		}
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return "", err
	}
	dst := filepath.Join(o.out, m.Metadata.Name+".yaml")
	return dst, os.WriteFile(dst, rendered, 0o644)
}

// releaseRequest holds the values the bot gives the template. The bot fills
// more (plugin owner, repo, actor) from the release event; templates here only
// need the tag.
type releaseRequest struct {
	TagName string
}

// snapshotTag is the tag of the goreleaser run whose dist/ holds the
// archives: "v" + the version in its metadata.json.
func snapshotTag(dist string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dist, "metadata.json"))
	if err != nil {
		return "", fmt.Errorf("no -tag, and no goreleaser metadata to take it from: %w", err)
	}
	var meta struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(data, &meta); err != nil || meta.Version == "" {
		return "", fmt.Errorf("%s: no version (%v)", filepath.Join(dist, "metadata.json"), err)
	}
	return "v" + meta.Version, nil
}

// render executes the template as the bot does: the same funcs, and
// addURIAndSha's URL argument is itself a template over {TagName, Version}.
// The checksum is the local archive's; absent(url) decides whether a missing
// one is an error (its sha256 is then left empty).
func render(file, tag, archives string, absent func(url string) error) ([]byte, error) {
	funcs := template.FuncMap{
		"indent": indent,
		"addURIAndSha": func(urlTemplate, tag string) (string, error) {
			url, err := expandURL(urlTemplate, tag)
			if err != nil {
				return "", err
			}
			sum, err := sha256File(filepath.Join(archives, path.Base(url)))
			if errors.Is(err, fs.ErrNotExist) {
				err = absent(url)
			}
			if err != nil {
				return "", err
			}
			// The bot's exact shape: the template indents "uri:" by 4.
			return "uri: " + url + "\n    sha256: " + sum, nil
		},
	}
	t, err := template.New(filepath.Base(file)).Funcs(funcs).ParseFiles(file)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, releaseRequest{TagName: tag}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var versionInTag = regexp.MustCompile(`\d+(\.\d+)+`)

func expandURL(urlTemplate, tag string) (string, error) {
	version := versionInTag.FindString(tag)
	if version == "" {
		version = tag
	}
	t, err := template.New("url").Parse(urlTemplate)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	err = t.Execute(&buf, struct{ TagName, Version string }{tag, version})
	return buf.String(), err
}

// indent is the bot's: addURIAndSha's output re-indented to n spaces, for
// templates that write `{{ addURIAndSha … | indent 6 }}` at column 0.
func indent(n int, s string) string {
	s = strings.ReplaceAll(s, "    sha256:", "sha256:")
	pad := strings.Repeat(" ", n)
	return strings.TrimSpace(pad + strings.ReplaceAll(s, "\n", "\n"+pad))
}

func sha256File(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// manifest is the part of krew's Plugin (krew.googlecontainertools.github.com/v1alpha2)
// these manifests use; parsing is strict, so anything else is an error.
type manifest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string     `json:"version"`
		Homepage         string     `json:"homepage,omitempty"`
		ShortDescription string     `json:"shortDescription"`
		Description      string     `json:"description,omitempty"`
		Caveats          string     `json:"caveats,omitempty"`
		Platforms        []platform `json:"platforms"`
	} `json:"spec"`
}

type platform struct {
	Selector struct {
		MatchLabels map[string]string `json:"matchLabels"`
	} `json:"selector"`
	URI    string `json:"uri"`
	Sha256 string `json:"sha256"`
	Bin    string `json:"bin"`
	Files  []struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"files,omitempty"`
}

func (p platform) key() string {
	return p.Selector.MatchLabels["os"] + "/" + p.Selector.MatchLabels["arch"]
}

func parseManifest(data []byte) (manifest, error) {
	var m manifest
	err := yaml.UnmarshalStrict(data, &m)
	return m, err
}

// sameManifest compares what installing depends on: identity, version and,
// per os/arch, the archive, its checksum and the binary. Descriptions and
// caveats are the template's alone (goreleaser's copy only checks the rest).
func sameManifest(got, want manifest) error {
	var diffs []error
	field := func(name, g, w string) {
		if g != w {
			diffs = append(diffs, fmt.Errorf("  %s: %q, want %q", name, g, w))
		}
	}
	field("apiVersion", got.APIVersion, want.APIVersion)
	field("kind", got.Kind, want.Kind)
	field("metadata.name", got.Metadata.Name, want.Metadata.Name)
	field("spec.version", got.Spec.Version, want.Spec.Version)
	field("spec.homepage", got.Spec.Homepage, want.Spec.Homepage)
	field("spec.shortDescription", got.Spec.ShortDescription, want.Spec.ShortDescription)
	gotP, wantP := byPlatform(got), byPlatform(want)
	for _, k := range slices.Sorted(maps.Keys(wantP)) {
		w := wantP[k]
		g, ok := gotP[k]
		if !ok {
			diffs = append(diffs, fmt.Errorf("  platform %s: missing", k))
			continue
		}
		field("platform "+k+" uri", g.URI, w.URI)
		field("platform "+k+" sha256", g.Sha256, w.Sha256)
		field("platform "+k+" bin", g.Bin, w.Bin)
	}
	for _, k := range slices.Sorted(maps.Keys(gotP)) {
		if _, ok := wantP[k]; !ok {
			diffs = append(diffs, fmt.Errorf("  platform %s: not expected", k))
		}
	}
	return errors.Join(diffs...)
}

func byPlatform(m manifest) map[string]platform {
	out := make(map[string]platform, len(m.Spec.Platforms))
	for _, p := range m.Spec.Platforms {
		out[p.key()] = p
	}
	return out
}
