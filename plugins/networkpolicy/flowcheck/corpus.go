package flowcheck

import (
	corev1 "k8s.io/api/core/v1"
)

// PodOf is a pod of a workload, from its pod template: its labels and the
// ports its containers (and sidecars) declare.
func PodOf(name, namespace string, tmpl corev1.PodTemplateSpec) *Pod {
	p := &Pod{Name: name, Namespace: namespace, Labels: tmpl.Labels}
	for _, c := range append(append([]corev1.Container{}, tmpl.Spec.InitContainers...), tmpl.Spec.Containers...) {
		p.Ports = append(p.Ports, c.Ports...)
	}
	return p
}

// Stranger is a pod of another namespace that nothing of the app needs.
func Stranger() *Pod {
	return &Pod{Name: "stranger", Namespace: "elsewhere", Labels: map[string]string{"app": "stranger"}}
}

// App is one corpus app's flows, from the published manifests (the
// clients' addresses are in their env: FRONTEND_ADDR, REDIS_ADDR…):
// Allowed are the connections it needs, Denied connections nobody needs.
type App struct {
	Allowed, Denied []Flow
}

// OnlineBoutique's flows (GoogleCloudPlatform/microservices-demo,
// release/kubernetes-manifests.yaml); pod(name) is the Deployment's pod.
func OnlineBoutique(pod func(string) *Pod) App {
	frontend, checkout := pod("frontend"), pod("checkoutservice")
	a := App{Allowed: []Flow{
		{From: Outside, To: frontend, Port: 8080},              // Service frontend-external: LoadBalancer 80 → 8080
		{From: pod("loadgenerator"), To: frontend, Port: 8080}, // FRONTEND_ADDR frontend:80
		{From: pod("recommendationservice"), To: pod("productcatalogservice"), Port: 3550},
		{From: pod("cartservice"), To: pod("redis-cart"), Port: 6379}, // REDIS_ADDR redis-cart:6379
	}}
	// The frontend's and the checkout's backends (their *_SERVICE_ADDR).
	for _, to := range []struct {
		name string
		port int32
	}{{"productcatalogservice", 3550}, {"currencyservice", 7000}, {"cartservice", 7070}, {"recommendationservice", 8080},
		{"shippingservice", 50051}, {"checkoutservice", 5050}, {"adservice", 9555}} {
		a.Allowed = append(a.Allowed, Flow{From: frontend, To: pod(to.name), Port: to.port})
	}
	for _, to := range []struct {
		name string
		port int32
	}{{"productcatalogservice", 3550}, {"shippingservice", 50051}, {"paymentservice", 50051}, {"emailservice", 8080},
		{"currencyservice", 7000}, {"cartservice", 7070}} {
		a.Allowed = append(a.Allowed, Flow{From: checkout, To: pod(to.name), Port: to.port})
	}
	stranger := Stranger()
	a.Denied = []Flow{
		{From: stranger, To: pod("redis-cart"), Port: 6379},
		{From: stranger, To: pod("cartservice"), Port: 7070},
		{From: Outside, To: pod("redis-cart"), Port: 6379},
		{From: Outside, To: pod("paymentservice"), Port: 50051},
		{From: pod("cartservice"), To: pod("redis-cart"), Port: 16379}, // no port declared
		{From: frontend, To: pod("productcatalogservice"), Port: 8080},
	}
	return a
}

// Guestbook's flows (kubernetes/examples, guestbook-all-in-one.yaml): the
// frontend's Service is NodePort as published; the PHP frontend writes to
// redis-master and reads from redis-replica, which replicates from
// redis-master (GET_HOSTS_FROM=dns).
func Guestbook(pod func(string) *Pod) App {
	frontend, master, replica := pod("frontend"), pod("redis-master"), pod("redis-replica")
	stranger := Stranger()
	return App{
		Allowed: []Flow{
			{From: Outside, To: frontend, Port: 80},
			{From: frontend, To: master, Port: 6379},
			{From: frontend, To: replica, Port: 6379},
			{From: replica, To: master, Port: 6379},
		},
		Denied: []Flow{
			{From: stranger, To: master, Port: 6379},
			{From: Outside, To: master, Port: 6379},
			{From: Outside, To: replica, Port: 6379},
			{From: frontend, To: master, Port: 16379}, // no port declared
			{From: stranger, To: frontend, Port: 8080},
		},
	}
}

// Cassandra's flows (kubernetes/examples, databases/cassandra): the nodes
// gossip on 7000 (7001 with TLS) and are managed over JMX on 7199 from
// each other; clients of the namespace use CQL on 9042 through the
// headless Service. client is such a client pod.
func Cassandra(pod func(string) *Pod, client *Pod) App {
	node := pod("cassandra")
	stranger := Stranger()
	return App{
		Allowed: []Flow{
			{From: node, To: node, Port: 7000},
			{From: node, To: node, Port: 7001},
			{From: node, To: node, Port: 7199},
			{From: node, To: node, Port: 9042},
			{From: client, To: node, Port: 9042},
		},
		Denied: []Flow{
			{From: client, To: node, Port: 7000}, // gossip is between the nodes only
			{From: client, To: node, Port: 7199},
			{From: stranger, To: node, Port: 9042},
			{From: stranger, To: node, Port: 7000},
			{From: Outside, To: node, Port: 9042},
			{From: node, To: node, Port: 9160}, // Thrift: not declared
		},
	}
}
