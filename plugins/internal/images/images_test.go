package images

import "testing"

func TestImageName(t *testing.T) {
	for image, want := range map[string]string{
		"docker.io/library/redis:7":    "redis",
		"redis":                        "redis",
		"redis:alpine":                 "redis",
		"localhost:5000/team/postgres": "postgres",
		"localhost:5000/team/postgres:16@sha256:abc": "postgres",
		"registry.k8s.io/redis:e2e":                  "redis",
		"gcr.io/google_samples/gb-redisslave:v1":     "gb-redisslave",
	} {
		if got := Name(image); got != want {
			t.Errorf("Name(%q) = %q, want %q", image, got, want)
		}
	}
}

// Lookup: root-starting official images and data stores with the user
// their files belong to; unprivileged builds, tools and other images are
// not known.
func TestLookup(t *testing.T) {
	for image, want := range map[string]Known{
		"postgres:16":                         {Word: "postgres", Store: true, RootStart: true, UID: 999, User: "postgres"},
		"docker.io/library/redis:7":           {Word: "redis", Store: true, RootStart: true, UID: 999, User: "redis"},
		"registry.k8s.io/redis:e2e":           {Word: "redis", Store: true, RootStart: true, UID: 999, User: "redis"},
		"valkey/valkey:8":                     {Word: "valkey", Store: true, RootStart: true, UID: 999, User: "valkey"},
		"gcr.io/google-samples/cassandra:v14": {Word: "cassandra", Store: true, RootStart: true, UID: 999, User: "cassandra"},
		"bitnami/postgresql:16":               {Word: "postgresql", Store: true, UID: 1001, User: "1001"},
		"etcd:3.5":                            {Word: "etcd", Store: true},
		"nginx:1.27":                          {Word: "nginx", RootStart: true, UID: 101, User: "nginx", Instead: "nginxinc/nginx-unprivileged (UID 101, port 8080)"},
		"httpd:2.4":                           {Word: "httpd", RootStart: true, UID: 1, User: "daemon"},
		"php:8.3-apache":                      {Word: "php", RootStart: true, UID: 33, User: "www-data"},
	} {
		got, ok := Lookup(image)
		if !ok || got != want {
			t.Errorf("Lookup(%q) = %+v %v, want %+v", image, got, ok, want)
		}
	}
	for _, image := range []string{"nginxinc/nginx-unprivileged:1.27", "nginx/nginx-prometheus-exporter:1.3", "oliver006/redis_exporter:v1",
		"php:8.3-fpm", "registry.example/web:2.1", "gcr.io/google_samples/gb-redisslave:v1", "redistributor:1"} {
		if got, ok := Lookup(image); ok {
			t.Errorf("Lookup(%q) = %+v, want unknown", image, got)
		}
	}
}
