// Command validate checks rendered Kubernetes manifests offline, against the
// Kubernetes API types of the k8s.io/api module (and the Prometheus Operator's
// monitoring/v1 types for ServiceMonitor, cert-manager's v1 types for Issuer and
// Certificate), without a cluster or the internet:
//
//  1. strict decoding into the typed structs: unknown, duplicated and
//     mistyped fields, and unknown apiVersion/kind pairs, are errors;
//  2. the structured-merge-diff schema that kube-apiserver uses for
//     server-side apply (from client-go): duplicate keys in keyed lists
//     (two env vars or ports of one name) and type mismatches are errors;
//  3. a subset of the API server's own validation that a chart can get wrong:
//     names, labels, selectors that match their pod template, container
//     and port names, env variable names, probes with exactly one handler,
//     Secret and ConfigMap keys, ports in range.
//
// Usage: validate FILE... (or "-" / no argument for standard input). Prints
// one line per problem and exits 1 when there is any.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	certmanagerv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/client-go/kubernetes/scheme"
)

func main() {
	args := os.Args[1:]
	if len(args) == 0 {
		args = []string{"-"}
	}
	builtins := scheme.Scheme
	all := runtime.NewScheme()
	if err := scheme.AddToScheme(all); err != nil {
		fatal(err)
	}
	if err := monitoringv1.AddToScheme(all); err != nil {
		fatal(err)
	}
	if err := certmanagerv1.AddToScheme(all); err != nil {
		fatal(err)
	}
	strict := serializer.NewCodecFactory(all, serializer.EnableStrict).UniversalDeserializer()
	converter := applyconfigurations.NewTypeConverter(builtins)

	problems, documents := 0, 0
	for _, name := range args {
		var input io.Reader = os.Stdin
		if name != "-" {
			file, err := os.Open(name)
			if err != nil {
				fatal(err)
			}
			defer file.Close()
			input = file
		}
		reader := utilyaml.NewYAMLReader(bufio.NewReader(input))
		for index := 0; ; index++ {
			chunk, err := reader.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				fatal(fmt.Errorf("%s: reading document %d: %w", name, index, err))
			}
			raw, err := utilyaml.ToJSON(chunk)
			if err != nil {
				report(&problems, fmt.Sprintf("%s #%d", name, index), fmt.Errorf("not YAML: %w", err))
				continue
			}
			if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
				continue
			}
			documents++
			var u unstructured.Unstructured
			if err := u.UnmarshalJSON(raw); err != nil {
				report(&problems, fmt.Sprintf("%s #%d", name, index), err)
				continue
			}
			where := fmt.Sprintf("%s %s/%s", u.GetAPIVersion(), u.GetKind(), u.GetName())
			if version := u.GroupVersionKind().Version; strings.Contains(version, "alpha") || strings.Contains(version, "beta") {
				report(&problems, where, fmt.Errorf("apiVersion %s is not a GA version: current API servers may not serve it", u.GetAPIVersion()))
				continue
			}
			obj, gvk, err := strict.Decode(raw, nil, nil)
			if err != nil {
				report(&problems, where, err)
				// A strict error (unknown or duplicate field) still decodes: check the rest too.
				if obj == nil || !runtime.IsStrictDecodingError(err) {
					continue
				}
			}
			if builtins.Recognizes(*gvk) {
				if _, err := converter.ObjectToTyped(obj); err != nil {
					report(&problems, where, fmt.Errorf("schema: %w", err))
				}
			}
			for _, e := range validate(obj) {
				report(&problems, where, e)
			}
		}
	}
	if problems > 0 {
		fmt.Printf("validate: %d problem(s) in %d document(s)\n", problems, documents)
		os.Exit(1)
	}
	if documents == 0 {
		fatal(errors.New("no documents to validate"))
	}
	fmt.Printf("validate: %d document(s) valid\n", documents)
}

func report(count *int, where string, err error) {
	*count++
	fmt.Printf("%s: %v\n", where, err)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "validate:", err)
	os.Exit(2)
}

// validate runs the checks the API server would make on fields a chart fills in.
func validate(obj runtime.Object) field.ErrorList {
	var errs field.ErrorList
	meta := field.NewPath("metadata")
	accessor, ok := obj.(metav1.Object)
	if !ok {
		return errs
	}
	nameCheck := validation.IsDNS1123Subdomain
	switch obj.(type) {
	case *corev1.Service, *corev1.Namespace:
		nameCheck = validation.IsDNS1123Label
	}
	if accessor.GetName() == "" {
		errs = append(errs, field.Required(meta.Child("name"), ""))
	}
	for _, msg := range nameCheck(accessor.GetName()) {
		errs = append(errs, field.Invalid(meta.Child("name"), accessor.GetName(), msg))
	}
	errs = append(errs, metavalidation.ValidateLabels(accessor.GetLabels(), meta.Child("labels"))...)

	switch o := obj.(type) {
	case *appsv1.Deployment:
		errs = append(errs, selectorMatches(o.Spec.Selector, o.Spec.Template.Labels, field.NewPath("spec"))...)
		errs = append(errs, podSpec(&o.Spec.Template.Spec, field.NewPath("spec", "template", "spec"))...)
	case *appsv1.StatefulSet:
		errs = append(errs, selectorMatches(o.Spec.Selector, o.Spec.Template.Labels, field.NewPath("spec"))...)
		errs = append(errs, podSpec(&o.Spec.Template.Spec, field.NewPath("spec", "template", "spec"), o.Spec.VolumeClaimTemplates...)...)
		if o.Spec.ServiceName == "" {
			errs = append(errs, field.Required(field.NewPath("spec", "serviceName"), "a StatefulSet needs its headless Service"))
		}
	case *batchv1.Job:
		errs = append(errs, podSpec(&o.Spec.Template.Spec, field.NewPath("spec", "template", "spec"))...)
		if p := o.Spec.Template.Spec.RestartPolicy; p != corev1.RestartPolicyNever && p != corev1.RestartPolicyOnFailure {
			errs = append(errs, field.NotSupported(field.NewPath("spec", "template", "spec", "restartPolicy"), p, []string{"Never", "OnFailure"}))
		}
	case *corev1.Service:
		path := field.NewPath("spec", "ports")
		if len(o.Spec.Ports) == 0 && o.Spec.Type != corev1.ServiceTypeExternalName {
			errs = append(errs, field.Required(path, ""))
		}
		for i, port := range o.Spec.Ports {
			errs = append(errs, portNumber(path.Index(i).Child("port"), port.Port)...)
			if len(o.Spec.Ports) > 1 && port.Name == "" {
				errs = append(errs, field.Required(path.Index(i).Child("name"), "every port of a multi-port Service needs a name"))
			}
			errs = append(errs, intOrName(path.Index(i).Child("targetPort"), port.TargetPort)...)
		}
	case *corev1.Secret:
		for key := range o.Data {
			errs = append(errs, configKey(field.NewPath("data").Key(key), key)...)
		}
		for key := range o.StringData {
			errs = append(errs, configKey(field.NewPath("stringData").Key(key), key)...)
		}
	case *corev1.ConfigMap:
		for key := range o.Data {
			errs = append(errs, configKey(field.NewPath("data").Key(key), key)...)
		}
	case *policyv1.PodDisruptionBudget:
		if (o.Spec.MinAvailable == nil) == (o.Spec.MaxUnavailable == nil) {
			errs = append(errs, field.Invalid(field.NewPath("spec"), "", "exactly one of minAvailable and maxUnavailable"))
		}
		if o.Spec.Selector == nil {
			errs = append(errs, field.Required(field.NewPath("spec", "selector"), ""))
		}
	case *autoscalingv2.HorizontalPodAutoscaler:
		if o.Spec.MinReplicas != nil && *o.Spec.MinReplicas > o.Spec.MaxReplicas {
			errs = append(errs, field.Invalid(field.NewPath("spec", "minReplicas"), *o.Spec.MinReplicas, "must not exceed maxReplicas"))
		}
		if o.Spec.ScaleTargetRef.Name == "" || o.Spec.ScaleTargetRef.Kind == "" {
			errs = append(errs, field.Required(field.NewPath("spec", "scaleTargetRef"), "kind and name"))
		}
	case *networkingv1.NetworkPolicy:
		path := field.NewPath("spec")
		for i, rule := range o.Spec.Ingress {
			for j, port := range rule.Ports {
				if port.Port != nil {
					errs = append(errs, intOrName(path.Child("ingress").Index(i).Child("ports").Index(j).Child("port"), *port.Port)...)
				}
			}
			for j, peer := range rule.From {
				errs = append(errs, peerCheck(path.Child("ingress").Index(i).Child("from").Index(j), peer)...)
			}
		}
		for i, rule := range o.Spec.Egress {
			for j, port := range rule.Ports {
				if port.Port != nil {
					errs = append(errs, intOrName(path.Child("egress").Index(i).Child("ports").Index(j).Child("port"), *port.Port)...)
				}
			}
			for j, peer := range rule.To {
				errs = append(errs, peerCheck(path.Child("egress").Index(i).Child("to").Index(j), peer)...)
			}
		}
	case *networkingv1.Ingress:
		for i, rule := range o.Spec.Rules {
			if rule.HTTP == nil {
				continue
			}
			for j, p := range rule.HTTP.Paths {
				at := field.NewPath("spec", "rules").Index(i).Child("http", "paths").Index(j)
				if p.PathType == nil {
					errs = append(errs, field.Required(at.Child("pathType"), ""))
				}
				if p.Backend.Service == nil || p.Backend.Service.Name == "" {
					errs = append(errs, field.Required(at.Child("backend", "service", "name"), ""))
				}
			}
		}
	case *monitoringv1.ServiceMonitor:
		if len(o.Spec.Endpoints) == 0 {
			errs = append(errs, field.Required(field.NewPath("spec", "endpoints"), ""))
		}
	}
	return errs
}

func selectorMatches(selector *metav1.LabelSelector, templateLabels map[string]string, path *field.Path) field.ErrorList {
	if selector == nil {
		return field.ErrorList{field.Required(path.Child("selector"), "")}
	}
	s, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return field.ErrorList{field.Invalid(path.Child("selector"), selector, err.Error())}
	}
	if s.Empty() || !s.Matches(labels.Set(templateLabels)) {
		return field.ErrorList{field.Invalid(path.Child("template", "metadata", "labels"), templateLabels, "`selector` does not match template `labels`")}
	}
	return nil
}

func podSpec(spec *corev1.PodSpec, path *field.Path, claims ...corev1.PersistentVolumeClaim) field.ErrorList {
	var errs field.ErrorList
	if len(spec.Containers) == 0 {
		errs = append(errs, field.Required(path.Child("containers"), ""))
	}
	volumes := map[string]bool{}
	for _, claim := range claims {
		volumes[claim.Name] = true
	}
	for i, v := range spec.Volumes {
		for _, msg := range validation.IsDNS1123Label(v.Name) {
			errs = append(errs, field.Invalid(path.Child("volumes").Index(i).Child("name"), v.Name, msg))
		}
		volumes[v.Name] = true
	}
	names := map[string]bool{}
	check := func(list []corev1.Container, child string, probes bool) {
		for i := range list {
			c := &list[i]
			at := path.Child(child).Index(i)
			for _, msg := range validation.IsDNS1123Label(c.Name) {
				errs = append(errs, field.Invalid(at.Child("name"), c.Name, msg))
			}
			if names[c.Name] {
				errs = append(errs, field.Duplicate(at.Child("name"), c.Name))
			}
			names[c.Name] = true
			if c.Image == "" {
				errs = append(errs, field.Required(at.Child("image"), ""))
			}
			portNames := map[string]bool{}
			for j, p := range c.Ports {
				errs = append(errs, portNumber(at.Child("ports").Index(j).Child("containerPort"), p.ContainerPort)...)
				if p.Name != "" {
					for _, msg := range validation.IsValidPortName(p.Name) {
						errs = append(errs, field.Invalid(at.Child("ports").Index(j).Child("name"), p.Name, msg))
					}
					portNames[p.Name] = true
				}
			}
			for j, e := range c.Env {
				for _, msg := range validation.IsEnvVarName(e.Name) {
					errs = append(errs, field.Invalid(at.Child("env").Index(j).Child("name"), e.Name, msg))
				}
				if e.Value != "" && e.ValueFrom != nil {
					errs = append(errs, field.Invalid(at.Child("env").Index(j), e.Name, "may not have both value and valueFrom"))
				}
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && (e.ValueFrom.SecretKeyRef.Name == "" || e.ValueFrom.SecretKeyRef.Key == "") {
					errs = append(errs, field.Required(at.Child("env").Index(j).Child("valueFrom", "secretKeyRef"), "name and key"))
				}
			}
			for j, m := range c.VolumeMounts {
				if !volumes[m.Name] {
					errs = append(errs, field.NotFound(at.Child("volumeMounts").Index(j).Child("name"), m.Name))
				}
			}
			for name, probe := range map[string]*corev1.Probe{"livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe, "startupProbe": c.StartupProbe} {
				if probe == nil {
					continue
				}
				if !probes {
					errs = append(errs, field.Forbidden(at.Child(name), "may not be set for init containers"))
					continue
				}
				errs = append(errs, probeCheck(at.Child(name), probe, portNames)...)
			}
		}
	}
	check(spec.InitContainers, "initContainers", false)
	check(spec.Containers, "containers", true)
	return errs
}

func probeCheck(path *field.Path, probe *corev1.Probe, portNames map[string]bool) field.ErrorList {
	var errs field.ErrorList
	handlers := 0
	if probe.Exec != nil {
		handlers++
	}
	if probe.HTTPGet != nil {
		handlers++
		errs = append(errs, namedPort(path.Child("httpGet", "port"), probe.HTTPGet.Port, portNames)...)
	}
	if probe.TCPSocket != nil {
		handlers++
		errs = append(errs, namedPort(path.Child("tcpSocket", "port"), probe.TCPSocket.Port, portNames)...)
	}
	if probe.GRPC != nil {
		handlers++
		errs = append(errs, portNumber(path.Child("grpc", "port"), probe.GRPC.Port)...)
	}
	if handlers != 1 {
		errs = append(errs, field.Invalid(path, handlers, "must have exactly one handler (exec, httpGet, tcpSocket or grpc)"))
	}
	return errs
}

func namedPort(path *field.Path, port intstr.IntOrString, names map[string]bool) field.ErrorList {
	if port.Type == intstr.String && !names[port.StrVal] {
		return field.ErrorList{field.NotFound(path, port.StrVal)}
	}
	return intOrName(path, port)
}

func intOrName(path *field.Path, port intstr.IntOrString) field.ErrorList {
	if port.Type == intstr.String {
		var errs field.ErrorList
		for _, msg := range validation.IsValidPortName(port.StrVal) {
			errs = append(errs, field.Invalid(path, port.StrVal, msg))
		}
		return errs
	}
	return portNumber(path, port.IntVal)
}

func portNumber(path *field.Path, port int32) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsValidPortNum(int(port)) {
		errs = append(errs, field.Invalid(path, port, msg))
	}
	return errs
}

func configKey(path *field.Path, key string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsConfigMapKey(key) {
		errs = append(errs, field.Invalid(path, key, msg))
	}
	return errs
}

func peerCheck(path *field.Path, peer networkingv1.NetworkPolicyPeer) field.ErrorList {
	var errs field.ErrorList
	if peer.IPBlock != nil && (peer.PodSelector != nil || peer.NamespaceSelector != nil) {
		errs = append(errs, field.Forbidden(path, "may not specify both ipBlock and another peer"))
	}
	if peer.IPBlock != nil && !strings.Contains(peer.IPBlock.CIDR, "/") {
		errs = append(errs, field.Invalid(path.Child("ipBlock", "cidr"), peer.IPBlock.CIDR, "must be a CIDR"))
	}
	return errs
}
