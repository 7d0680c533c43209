// Package ingressplugin adds step-up authentication to the Caddy ingress
// controller (github.com/caddyserver/ingress) through its converter plugin
// API. It is a thin adapter: everything it decides is in
// github.com/caddy-stepup/caddy-stepup/k8s/translate (annotation
// translation, tested there) and .../k8s/events (diagnostics as Events).
//
// Link it into the controller with one blank import in its cmd/caddy
// (see README.md):
//
//	import _ "github.com/caddy-stepup/caddy-stepup/k8s/ingressplugin"
package ingressplugin

import (
	"os"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/ingress/pkg/converter"
	"github.com/caddyserver/ingress/pkg/store"
	"go.uber.org/zap"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	_ "github.com/caddy-stepup/caddy-stepup" // the stepup Caddy module
	"github.com/caddy-stepup/caddy-stepup/k8s/events"
	"github.com/caddy-stepup/caddy-stepup/k8s/translate"
)

// Priority orders the plugin among the controller's (higher runs earlier).
// Per route: after its matcher plugin (0) and its rewrite and redirect
// plugins (10), whose output Apply builds on, and before its reverse proxy
// (-10). Globally: after its ingress plugin (0), which builds the routes by
// calling every plugin's IngressHandler, and its ingress_sort plugin (-2),
// so GlobalHandler sees the routes in their final order.
const Priority = -5

func init() {
	converter.RegisterPlugin(new(plugin))
}

type plugin struct {
	once       sync.Once
	translator *translate.Translator
	reporter   *events.Reporter
}

func (*plugin) IngressPlugin() converter.PluginInfo {
	return converter.PluginInfo{
		Name:     "stepup",
		Priority: Priority,
		New:      func() converter.Plugin { return new(plugin) },
	}
}

// IngressHandler adds step-up to one route. It never returns an error: the
// controller would then keep every Ingress in the cluster on its last
// config. Bad annotations close only their own Ingress's routes (503) and
// are logged and recorded as Events on that Ingress.
func (p *plugin) IngressHandler(in converter.IngressMiddlewareInput) (*caddyhttp.Route, error) {
	p.once.Do(p.setup)
	if diags := p.translator.Apply(in.Ingress, in.Route); len(diags) > 0 {
		p.reporter.Report(in.Ingress, diags)
	}
	return in.Route, nil
}

// GlobalHandler makes step-up independent of route order: it moves each
// annotated Ingress's step-up handler (or its 503) from its routes into one
// guard route ahead of all routes of the server (translate.Guard), so another
// Ingress's route for the same host cannot serve an annotated path without
// it, whatever order the controller put the routes in.
func (p *plugin) GlobalHandler(cfg *converter.Config, _ *store.Store) error {
	srv := cfg.GetHTTPServer()
	srv.Routes = translate.Guard(srv.Routes)
	return nil
}

// setup runs on the first conversion, not in init: the controller creates
// plugin instances while its package initializes.
func (p *plugin) setup() {
	logger := caddy.Log().Named("stepup.ingress")
	cfg, err := translate.LoadConfig(os.Getenv)
	if err != nil {
		logger.Error("step-up config invalid: every Ingress with step-up annotations answers 503 until it is fixed and the controller restarted", zap.Error(err))
		p.translator = translate.Failing(err)
	} else {
		logger.Info("step-up config loaded", zap.String("issuer", cfg.Provider.Issuer), zap.Strings("policies", cfg.PolicyNames()))
		p.translator = translate.New(cfg)
	}
	// The same client configuration the controller itself uses: in-cluster,
	// or KUBECONFIG.
	var client kubernetes.Interface
	if rc, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG")); err != nil {
		logger.Warn("no Kubernetes client; step-up diagnostics go to the log only", zap.Error(err))
	} else if cs, err := kubernetes.NewForConfig(rc); err != nil {
		logger.Warn("no Kubernetes client; step-up diagnostics go to the log only", zap.Error(err))
	} else {
		client = cs
	}
	p.reporter = events.NewReporter(client, os.Getenv("POD_NAME"), logger)
}

// Interface guards
var (
	_ converter.Plugin            = (*plugin)(nil)
	_ converter.IngressMiddleware = (*plugin)(nil)
	_ converter.GlobalMiddleware  = (*plugin)(nil)
)
