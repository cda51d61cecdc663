//! `getroutes` parameters: by name, or in Core Lightning's positional order (`layers` is
//! accepted and ignored: mission control is our only layer).

use serde_json::Value;

use super::{node_id, param, parse_msat};
use crate::router::getroutes::{
    GetRoutesError, GetRoutesRequest, DEFAULT_MAXDELAY, DEFAULT_MAXPARTS,
};

const POSITIONAL: [&str; 8] = [
    "source",
    "destination",
    "amount_msat",
    "layers",
    "maxfee_msat",
    "final_cltv",
    "maxdelay",
    "maxparts",
];

fn invalid(param: &'static str, reason: &str) -> GetRoutesError {
    GetRoutesError::InvalidParams {
        param,
        reason: reason.into(),
    }
}

/// Parses `getroutes` parameters; `maxdelay` and `maxparts` are optional.
pub fn parse_getroutes(params: Option<&Value>) -> Result<GetRoutesRequest, GetRoutesError> {
    let get = |name: &'static str| param(params, &POSITIONAL, name);
    let node = |name: &'static str| -> Result<[u8; 33], GetRoutesError> {
        node_id(get(name)).ok_or_else(|| invalid(name, "a node id (66 hex characters)"))
    };
    let msat = |name: &'static str| -> Result<u64, GetRoutesError> {
        get(name)
            .and_then(parse_msat)
            .ok_or_else(|| invalid(name, "a msat amount (number, or string with msat/sat/btc)"))
    };
    let u32_param = |name: &'static str| -> Result<Option<u32>, GetRoutesError> {
        get(name)
            .map(|v| {
                v.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| invalid(name, "a 32-bit unsigned integer"))
            })
            .transpose()
    };
    let source = node("source")?;
    let destination = node("destination")?;
    let amount_msat = msat("amount_msat")?;
    let maxfee_msat = msat("maxfee_msat")?;
    let final_cltv = u32_param("final_cltv")?
        .ok_or_else(|| invalid("final_cltv", "a 32-bit unsigned integer"))?;
    let mut request =
        GetRoutesRequest::new(source, destination, amount_msat, maxfee_msat, final_cltv);
    request.maxdelay = u32_param("maxdelay")?.unwrap_or(DEFAULT_MAXDELAY);
    request.maxparts = u32_param("maxparts")?.unwrap_or(DEFAULT_MAXPARTS);
    if let Some(layers) = get("layers") {
        if !layers
            .as_array()
            .is_some_and(|l| l.iter().all(Value::is_string))
        {
            return Err(invalid("layers", "an array of strings"));
        }
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn named_and_positional_parameters_agree_and_defaults_apply() {
        let a = "02".to_owned() + &"11".repeat(32);
        let b = "03".to_owned() + &"22".repeat(32);
        let named = json!({"source": a, "destination": b, "amount_msat": "10sat",
                           "maxfee_msat": 500, "final_cltv": 18});
        let positional = json!([a, b, 10_000, [], "500msat", 18]);
        let by_name = parse_getroutes(Some(&named)).unwrap();
        assert_eq!(by_name, parse_getroutes(Some(&positional)).unwrap());
        assert_eq!(by_name.amount_msat, 10_000);
        assert_eq!(by_name.maxfee_msat, 500);
        assert_eq!(by_name.maxparts, DEFAULT_MAXPARTS);
        assert_eq!(by_name.maxdelay, DEFAULT_MAXDELAY);
        let with_limits = json!({"source": a, "destination": b, "amount_msat": 1,
                                 "maxfee_msat": 0, "final_cltv": 9, "maxdelay": 100,
                                 "maxparts": 3});
        let parsed = parse_getroutes(Some(&with_limits)).unwrap();
        assert_eq!((parsed.maxdelay, parsed.maxparts), (100, 3));
    }

    #[test]
    fn bad_parameters_name_the_parameter() {
        let a = "02".to_owned() + &"11".repeat(32);
        for (params, name) in [
            (
                json!({"destination": a, "amount_msat": 1, "maxfee_msat": 1, "final_cltv": 9}),
                "source",
            ),
            (
                json!({"source": a, "destination": a, "amount_msat": "x", "maxfee_msat": 1, "final_cltv": 9}),
                "amount_msat",
            ),
            (
                json!({"source": a, "destination": a, "amount_msat": 1, "final_cltv": 9}),
                "maxfee_msat",
            ),
            (
                json!({"source": a, "destination": a, "amount_msat": 1, "maxfee_msat": 1}),
                "final_cltv",
            ),
            (
                json!({"source": a, "destination": a, "amount_msat": 1, "maxfee_msat": 1, "final_cltv": 9, "maxparts": -1}),
                "maxparts",
            ),
            (
                json!({"source": a, "destination": a, "amount_msat": 1, "maxfee_msat": 1, "final_cltv": 9, "layers": "x"}),
                "layers",
            ),
        ] {
            let error = parse_getroutes(Some(&params)).unwrap_err();
            assert_eq!(error.code(), -32602);
            assert!(error.to_string().contains(name), "{error}");
        }
    }
}
