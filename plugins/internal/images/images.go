// Package images reads what an image reference says about the software in
// it: the words of its name, whether it is a data store, and whether its
// official image starts as root and switches to its own user. The rules
// read the same words (replicas: a data store is not copied; run-as-non-root:
// a data store's files belong to the image's user).
package images

import (
	"slices"
	"strings"
)

// StoreWords are image or name words of data stores and brokers: their
// copies do not share their data by themselves, and their data files
// belong to the image's own user. Whole words only: "redistributor" is not
// redis.
var StoreWords = []string{
	"redis", "valkey", "keydb", "postgres", "postgresql", "postgis", "mysql", "mariadb", "percona",
	"mongo", "mongodb", "etcd", "zookeeper", "rabbitmq", "elasticsearch", "opensearch", "kafka",
	"cassandra", "influxdb", "couchdb", "neo4j", "consul", "minio", "nats",
}

// ToolWords, next to a data store's word in the same name, say it is a
// stateless tool around the store, not the store: postgres-exporter,
// redis-commander, mongo-express…
var ToolWords = []string{
	"exporter", "operator", "commander", "express", "admin", "ui", "dashboard", "client", "cli", "proxy", "backup",
}

// unprivilegedWords in an image's name say it was built to run as non-root
// (nginxinc/nginx-unprivileged, bitnami's rootless images…).
var unprivilegedWords = []string{"unprivileged", "rootless", "nonroot", "distroless"}

// Name is the last path component of an image's repository, without
// registry, tag or digest: "docker.io/library/redis:7" → "redis".
func Name(image string) string {
	repo, _ := split(image)
	return repo[strings.LastIndex(repo, "/")+1:]
}

// split is an image's repository (registry and path) and tag, without
// digest: "nginx:1.27@sha256:…" → "nginx", "1.27".
func split(image string) (repo, tag string) {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[:i], image[i+1:]
	}
	return image, ""
}

// Words splits a name into its lower-case words: "redis-leader" → redis,
// leader.
func Words(name string) []string {
	return strings.FieldsFunc(strings.ToLower(name), func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9')
	})
}

// StoreWord is the first data-store word of a name ("gb-redis-follower" →
// "redis"), "" when it has none or when a tool word says it is a tool
// around the store (redis-exporter).
func StoreWord(name string) string {
	ws := Words(name)
	if slices.ContainsFunc(ws, func(w string) bool { return slices.Contains(ToolWords, w) }) {
		return ""
	}
	for _, w := range ws {
		if slices.Contains(StoreWords, w) {
			return w
		}
	}
	return ""
}

// Known is what harden knows of an image whose user matters: one that
// starts as root and switches to its own user, or a data store whose files
// belong to its user.
type Known struct {
	// Word is the name word that matched, e.g. "postgres".
	Word string
	// Store says it is a data store.
	Store bool
	// RootStart says the official image starts as root and switches user
	// itself (gosu, su-exec, or the server's own User directive).
	RootStart bool
	// UID is the user the official image switches to (from its
	// Dockerfile), 0 when harden does not know it; User is its name.
	UID  int64
	User string
	// Instead, when not empty, names an image built to run unprivileged.
	Instead string
}

// users are the users the official (Docker Hub library) images switch to,
// from their Dockerfiles: Debian-based variants (postgres's alpine variant
// uses 70).
var users = map[string]Known{
	"postgres":      {UID: 999, User: "postgres"},
	"postgis":       {UID: 999, User: "postgres"},
	"redis":         {UID: 999, User: "redis"},
	"valkey":        {UID: 999, User: "valkey"},
	"mysql":         {UID: 999, User: "mysql"},
	"mariadb":       {UID: 999, User: "mysql"},
	"mongo":         {UID: 999, User: "mongodb"},
	"rabbitmq":      {UID: 999, User: "rabbitmq"},
	"cassandra":     {UID: 999, User: "cassandra"},
	"elasticsearch": {UID: 1000, User: "elasticsearch"},
}

// Lookup says what harden knows of an image's user, from its name: the
// official nginx (workers as nginx, UID 101), httpd (daemon) and php
// *apache* (www-data, UID 33) images start as root to bind port 80 and
// switch user; data stores (StoreWords) keep their files as their own
// user, and the official ones start as root and switch to it. Images
// whose name says unprivileged (nginxinc/nginx-unprivileged), and bitnami
// ones (which run as UID 1001 from the start), are not root-starting.
// ok is false for every other image.
func Lookup(image string) (Known, bool) {
	repo, tag := split(image)
	name := Name(image)
	ws := Words(name)
	unprivileged := slices.ContainsFunc(ws, func(w string) bool { return slices.Contains(unprivilegedWords, w) })
	bitnami := strings.Contains(repo, "bitnami/")
	switch {
	case unprivileged:
		return Known{}, false
	case slices.Contains(ws, "nginx") && !slices.ContainsFunc(ws, func(w string) bool { return slices.Contains(ToolWords, w) }):
		if bitnami {
			return Known{}, false
		}
		return Known{Word: "nginx", RootStart: true, UID: 101, User: "nginx",
			Instead: "nginxinc/nginx-unprivileged (UID 101, port 8080)"}, true
	case slices.Contains(ws, "httpd"):
		if bitnami {
			return Known{}, false
		}
		return Known{Word: "httpd", RootStart: true, UID: 1, User: "daemon"}, true
	case name == "php" && strings.Contains(tag, "apache"):
		return Known{Word: "php", RootStart: true, UID: 33, User: "www-data"}, true
	}
	w := StoreWord(name)
	if w == "" {
		return Known{}, false
	}
	k := Known{Word: w, Store: true}
	if bitnami {
		k.UID, k.User = 1001, "1001"
		return k, true
	}
	if u, ok := users[w]; ok {
		k.RootStart, k.UID, k.User = true, u.UID, u.User
	}
	return k, true
}
