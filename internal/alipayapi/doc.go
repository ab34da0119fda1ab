// Package alipayapi holds the facts of Alipay's image upload API that both
// sides in this module speak: the client (upload) and the gateway emulator
// (upload/alipaytest). One home, so the two cannot drift apart; a mistake
// they shared would still fail the emulator's check against Alipay's
// official Node SDK (upload/alipaytest/sdktest).
package alipayapi
