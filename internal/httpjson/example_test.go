package httpjson_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/storemedia/alipay-media-worker/internal/httpjson"
)

func ExampleWrite() {
	rec := httptest.NewRecorder()
	httpjson.Write(rec, http.StatusOK, map[string]string{"status": "ok"})
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Print(rec.Body.String())
	// Output:
	// 200 application/json
	// {
	//   "status": "ok"
	// }
}
