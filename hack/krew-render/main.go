// Command krew-render renders the krew-release-bot template (krew.yaml) for a
// tag the way the bot does on a release, except that each sha256 comes from
// the archive of the same name in a local directory (goreleaser's dist/)
// instead of the downloaded release asset. It writes the result as
// <out>/<plugin name>.yaml, the krew-index layout validate-krew-manifest
// expects, and can check it against the manifest goreleaser's krews section
// generated from the same archives.
//
//	go run ./hack/krew-render -template krew.yaml -tag v0.1.0 -archives dist \
//	    -out dist/krew-index/plugins -compare dist/krew/harden.yaml
//
// Without -tag it renders for the tag of the snapshot in -archives.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	var o options
	flag.StringVar(&o.template, "template", "krew.yaml", "krew-release-bot template")
	flag.StringVar(&o.tag, "tag", "", "release tag to render for, e.g. v0.1.0 (default: v + the version in <archives>/metadata.json)")
	flag.StringVar(&o.archives, "archives", "dist", "directory holding the release archives named in the template")
	flag.StringVar(&o.out, "out", "dist/krew-index/plugins", "directory to write <plugin name>.yaml into")
	flag.StringVar(&o.compare, "compare", "", "a manifest (goreleaser's dist/krew/NAME.yaml) the rendered one must agree with")
	flag.BoolVar(&o.onlyPresent, "only-present", false, "leave out the platforms whose archive is missing (a host-only snapshot) instead of failing")
	flag.Parse()
	path, err := o.run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
	fmt.Println(path)
}
