// Package deploy holds tests that keep the deployment files valid.
package deploy
