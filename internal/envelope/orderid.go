package envelope

import "encoding/json"

// OrderID returns the merchant's order id an event's body names
// (data.object.metadata.order_id), or "" when it names none or is not
// JSON. It is for showing events by order (webhookctl, the local stack),
// not for applying them: the handlers parse the object with its rules.
func OrderID(body []byte) string {
	var env struct {
		Data struct {
			Object struct {
				Metadata struct {
					OrderID string `json:"order_id"`
				} `json:"metadata"`
			} `json:"object"`
		} `json:"data"`
	}
	if len(body) == 0 || json.Unmarshal(body, &env) != nil {
		return ""
	}
	return env.Data.Object.Metadata.OrderID
}
