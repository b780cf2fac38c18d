//! The `tfplugin6.Provider` gRPC service: decodes Terraform's requests, applies the protocol's
//! rules and calls the provider's resources and data sources.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::diag::{Diagnostic, Diagnostics};
use crate::plan;
use crate::proto::tfplugin6 as pb;
use crate::resource::{DataSource, PlanChange, Provider, Resource, StopSignal};
use crate::schema::Schema;
use crate::value::{self, Type, Value};

struct ResourceEntry<C> {
    resource: Arc<dyn Resource<C>>,
    schema: Schema,
    ty: Type,
}

struct DataSourceEntry<C> {
    data_source: Arc<dyn DataSource<C>>,
    schema: Schema,
    ty: Type,
}

pub(crate) struct ProviderService<P: Provider> {
    provider: P,
    provider_schema: Schema,
    resources: HashMap<&'static str, ResourceEntry<P::Client>>,
    data_sources: HashMap<&'static str, DataSourceEntry<P::Client>>,
    schema_response: pb::get_provider_schema::Response,
    client: RwLock<Option<Arc<P::Client>>>,
    stop_sender: tokio::sync::watch::Sender<bool>,
    stop: StopSignal,
}

fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        // Without it, Terraform skips PlanResourceChange for deletes.
        plan_destroy: true,
        get_provider_schema_optional: true,
        move_resource_state: false,
        generate_resource_config: false,
    }
}

impl<P: Provider> ProviderService<P> {
    pub(crate) fn new(provider: P) -> Self {
        let provider_schema = provider.schema();
        let resources: HashMap<_, _> = provider
            .resources()
            .into_iter()
            .map(|resource| {
                let schema = resource.schema();
                let ty = schema.ty();
                (
                    resource.type_name(),
                    ResourceEntry {
                        resource,
                        schema,
                        ty,
                    },
                )
            })
            .collect();
        let data_sources: HashMap<_, _> = provider
            .data_sources()
            .into_iter()
            .map(|data_source| {
                let schema = data_source.schema();
                let ty = schema.ty();
                (
                    data_source.type_name(),
                    DataSourceEntry {
                        data_source,
                        schema,
                        ty,
                    },
                )
            })
            .collect();
        let schema_response = pb::get_provider_schema::Response {
            provider: Some(provider_schema.to_proto()),
            resource_schemas: resources
                .iter()
                .map(|(k, e)| (k.to_string(), e.schema.to_proto()))
                .collect(),
            data_source_schemas: data_sources
                .iter()
                .map(|(k, e)| (k.to_string(), e.schema.to_proto()))
                .collect(),
            server_capabilities: Some(capabilities()),
            ..Default::default()
        };
        let (stop_sender, stop) = StopSignal::new();
        ProviderService {
            provider,
            provider_schema,
            resources,
            data_sources,
            schema_response,
            client: RwLock::new(None),
            stop_sender,
            stop,
        }
    }

    fn resource(&self, type_name: &str) -> Result<&ResourceEntry<P::Client>, Diagnostics> {
        self.resources.get(type_name).ok_or_else(|| {
            Diagnostic::error(
                format!("Unknown resource type {type_name}"),
                format!(
                    "The {} provider has no resource type {type_name}.",
                    self.provider.type_name()
                ),
            )
            .into()
        })
    }

    fn data_source(&self, type_name: &str) -> Result<&DataSourceEntry<P::Client>, Diagnostics> {
        self.data_sources.get(type_name).ok_or_else(|| {
            Diagnostic::error(
                format!("Unknown data source {type_name}"),
                format!(
                    "The {} provider has no data source {type_name}.",
                    self.provider.type_name()
                ),
            )
            .into()
        })
    }

    /// Reads a DynamicValue (msgpack, or JSON) as a value of `ty`; absent means null.
    fn decode(
        &self,
        dv: Option<&pb::DynamicValue>,
        ty: &Type,
        what: &str,
    ) -> Result<Value, Diagnostics> {
        let Some(dv) = dv else { return Ok(Value::Null) };
        let decoded = if !dv.msgpack.is_empty() {
            value::from_msgpack(ty, &dv.msgpack)
        } else {
            value::from_json(ty, &dv.json)
        };
        decoded.map_err(|e| {
        Diagnostic::error(
            format!("Invalid {what} from Terraform"),
            format!("{e}. This Terraform version may not be supported; the {} provider supports Terraform 1.11–1.16 and OpenTofu.", self.provider.type_name()),
        )
        .into()
    })
    }

    fn encode(&self, ty: &Type, value: &Value) -> Result<pb::DynamicValue, Diagnostics> {
        let msgpack = value::to_msgpack(ty, value).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Provider produced a value that does not fit its schema",
                format!(
                    "{e}. This is a bug in the {} provider.",
                    self.provider.type_name()
                ),
            ))
        })?;
        Ok(pb::DynamicValue {
            msgpack,
            json: Vec::new(),
        })
    }

    fn not_offered(&self, rpc: &str) -> Status {
        Status::unimplemented(format!(
            "the {} provider offers no {rpc}",
            self.provider.type_name()
        ))
    }

    fn client(&self) -> Result<Arc<P::Client>, Diagnostics> {
        let guard = self.client.read().unwrap_or_else(|e| e.into_inner());
        guard.clone().ok_or_else(|| {
            Diagnostic::error(
                "Provider not configured",
                format!("Terraform called the provider before configuring it; this is a bug in the {} provider or in Terraform.", self.provider.type_name()),
            )
            .into()
        })
    }
}

fn diagnostics_of<T>(result: &Result<T, Diagnostics>) -> Vec<pb::Diagnostic> {
    match result {
        Ok(_) => Vec::new(),
        Err(d) => d.to_proto(),
    }
}

type EventStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl<P: Provider> pb::provider_server::Provider for ProviderService<P> {
    async fn get_metadata(
        &self,
        _: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            resources: self
                .resources
                .keys()
                .map(|k| pb::get_metadata::ResourceMetadata {
                    type_name: k.to_string(),
                })
                .collect(),
            data_sources: self
                .data_sources
                .keys()
                .map(|k| pb::get_metadata::DataSourceMetadata {
                    type_name: k.to_string(),
                })
                .collect(),
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        Ok(Response::new(self.schema_response.clone()))
    }

    async fn validate_provider_config(
        &self,
        request: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        let request = request.into_inner();
        let result = self
            .decode(
                request.config.as_ref(),
                &self.provider_schema.ty(),
                "provider configuration",
            )
            .and_then(|config| {
                let mut diags = self.provider_schema.validate(&config);
                diags.extend(self.provider.validate(&config));
                if diags.is_empty() { Ok(()) } else { Err(diags) }
            });
        Ok(Response::new(pb::validate_provider_config::Response {
            diagnostics: diagnostics_of(&result),
        }))
    }

    async fn validate_resource_config(
        &self,
        request: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        let request = request.into_inner();
        let result = self.resource(&request.type_name).and_then(|entry| {
            let config =
                self.decode(request.config.as_ref(), &entry.ty, "resource configuration")?;
            let mut diags = entry.schema.validate(&config);
            diags.extend(entry.resource.validate(&config));
            if diags.is_empty() { Ok(()) } else { Err(diags) }
        });
        Ok(Response::new(pb::validate_resource_config::Response {
            diagnostics: diagnostics_of(&result),
        }))
    }

    async fn validate_data_resource_config(
        &self,
        request: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        let request = request.into_inner();
        let result = self.data_source(&request.type_name).and_then(|entry| {
            let config = self.decode(
                request.config.as_ref(),
                &entry.ty,
                "data source configuration",
            )?;
            let mut diags = entry.schema.validate(&config);
            diags.extend(entry.data_source.validate(&config));
            if diags.is_empty() { Ok(()) } else { Err(diags) }
        });
        Ok(Response::new(pb::validate_data_resource_config::Response {
            diagnostics: diagnostics_of(&result),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let request = request.into_inner();
        let result = self.resource(&request.type_name).and_then(|entry| {
            let raw = request.raw_state.unwrap_or_default();
            if raw.json.is_empty() && !raw.flatmap.is_empty() {
                return Err(Diagnostic::error(
                    "Unsupported state format",
                    format!("This state was written in the legacy flatmap format, which the {} provider never wrote.", self.provider.type_name()),
                )
                .into());
            }
            let state = value::from_json(&entry.ty, &raw.json).map_err(|e| {
                let why = if request.version < entry.schema.version {
                    format!(
                        "It was written by an earlier version of the provider (schema version {}, now {}) in a form this version cannot convert; see the resource's documentation.",
                        request.version, entry.schema.version
                    )
                } else {
                    "The state may have been edited by hand.".to_string()
                };
                Diagnostics::from(Diagnostic::error(
                    format!("Cannot read stored state of {}", request.type_name),
                    format!("{e}. {why}"),
                ))
            })?;
            let state = if request.version < entry.schema.version {
                entry.resource.upgrade_state(request.version, state)?
            } else {
                state
            };
            self.encode(&entry.ty, &state)
        });
        let diagnostics = diagnostics_of(&result);
        Ok(Response::new(pb::upgrade_resource_state::Response {
            upgraded_state: result.ok(),
            diagnostics,
        }))
    }

    async fn get_resource_identity_schemas(
        &self,
        _: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
        // Terraform 1.12+ reads an empty answer as "no resource identities".
        Ok(Response::new(
            pb::get_resource_identity_schemas::Response::default(),
        ))
    }

    async fn upgrade_resource_identity(
        &self,
        _: Request<pb::upgrade_resource_identity::Request>,
    ) -> Result<Response<pb::upgrade_resource_identity::Response>, Status> {
        Err(self.not_offered("resource identities"))
    }

    async fn configure_provider(
        &self,
        request: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        let request = request.into_inner();
        let config = self.decode(
            request.config.as_ref(),
            &self.provider_schema.ty(),
            "provider configuration",
        );
        // Configuring may warn (a check it could not make) and still succeed.
        let mut warnings = Diagnostics::new();
        let result = match config {
            Ok(config) if !config.is_wholly_known() => Err(Diagnostic::error(
                "Provider configuration is not known until apply",
                format!("The {} provider block refers to values that are only known after apply. Use values known at plan time (variables, locals, literals).", self.provider.type_name()),
            )
            .into()),
            Ok(config) => {
                let (configured, raised) = crate::warnings::collecting(
                    self.provider.configure(&config, self.stop.clone()),
                )
                .await;
                warnings = raised;
                configured.map(|client| {
                    *self.client.write().unwrap_or_else(|e| e.into_inner()) =
                        Some(Arc::new(client));
                })
            }
            Err(d) => Err(d),
        };
        let mut diagnostics = diagnostics_of(&result);
        diagnostics.extend(warnings.to_proto());
        Ok(Response::new(pb::configure_provider::Response {
            diagnostics,
        }))
    }

    async fn read_resource(
        &self,
        request: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        let request = request.into_inner();
        let private = request.private.clone();
        let result = async {
            let entry = self.resource(&request.type_name)?;
            let client = self.client()?;
            let state = self.decode(request.current_state.as_ref(), &entry.ty, "state")?;
            if state.is_null() {
                return Ok(None);
            }
            let new_state = entry.resource.read(&client, &state).await?;
            new_state.map(|s| self.encode(&entry.ty, &s)).transpose()
        }
        .await;
        let diagnostics = diagnostics_of(&result);
        Ok(Response::new(pb::read_resource::Response {
            new_state: result.ok().flatten(),
            diagnostics,
            private,
            ..Default::default()
        }))
    }

    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let request = request.into_inner();
        let prior_private = request.prior_private.clone();
        let result = async {
            let entry = self.resource(&request.type_name)?;
            let prior = self.decode(request.prior_state.as_ref(), &entry.ty, "prior state")?;
            let proposed = self.decode(
                request.proposed_new_state.as_ref(),
                &entry.ty,
                "proposed state",
            )?;
            let config = self.decode(request.config.as_ref(), &entry.ty, "configuration")?;
            if proposed.is_null() {
                // A destroy: nothing to plan.
                return Ok((self.encode(&entry.ty, &Value::Null)?, Vec::new()));
            }
            let client = self.client()?;
            let planned = plan::plan_new_state(&entry.schema, &prior, &config, &proposed);
            let mut change = PlanChange {
                prior: &prior,
                config: &config,
                planned,
                requires_replace: Vec::new(),
            };
            entry.resource.plan(&client, &mut change).await?;
            let mut replace = plan::replacement_paths(&entry.schema, &prior, &change.planned);
            replace.extend(change.requires_replace.iter().cloned());
            Ok((self.encode(&entry.ty, &change.planned)?, replace))
        }
        .await;
        let diagnostics = diagnostics_of(&result);
        let (planned_state, requires_replace) = match result {
            Ok((planned, replace)) => (
                Some(planned),
                replace.iter().map(|p| p.to_proto()).collect(),
            ),
            Err(_) => (None, Vec::new()),
        };
        Ok(Response::new(pb::plan_resource_change::Response {
            planned_state,
            requires_replace,
            planned_private: prior_private,
            diagnostics,
            ..Default::default()
        }))
    }

    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let request = request.into_inner();
        let private = request.planned_private.clone();
        let outcome: Result<(Option<pb::DynamicValue>, Diagnostics), Diagnostics> = async {
            let entry = self.resource(&request.type_name)?;
            let client = self.client()?;
            let prior = self.decode(request.prior_state.as_ref(), &entry.ty, "prior state")?;
            let planned =
                self.decode(request.planned_state.as_ref(), &entry.ty, "planned state")?;
            let type_name = request.type_name.as_str();
            if planned.is_null() {
                return match entry.resource.delete(&client, &prior).await {
                    Ok(()) => Ok((
                        Some(self.encode(&entry.ty, &Value::Null)?),
                        Diagnostics::new(),
                    )),
                    // Returning the prior state keeps the object in state, so nothing is lost.
                    Err(d) => Ok((Some(self.encode(&entry.ty, &prior)?), d)),
                };
            }
            let (applied, warnings) = crate::warnings::collecting(async {
                if prior.is_null() {
                    entry.resource.create(&client, &planned).await
                } else {
                    entry.resource.update(&client, &prior, &planned).await
                }
            })
            .await;
            match applied {
                Ok(state) => {
                    let state = plan::reconcile_applied(
                        &entry.schema,
                        &planned,
                        state,
                        type_name,
                        self.provider.type_name(),
                    )?;
                    Ok((Some(self.encode(&entry.ty, &state)?), warnings))
                }
                Err(failure) => {
                    // What exists despite the failure stays in state (with unknowns cleared);
                    // on a failed update the prior state does.
                    let kept = match failure.partial_state {
                        Some(partial) => Some(clear_unknowns(partial)),
                        None if !prior.is_null() => Some(prior.clone()),
                        None => None,
                    };
                    let encoded = kept.map(|s| self.encode(&entry.ty, &s)).transpose()?;
                    let mut diagnostics = warnings;
                    diagnostics.extend(failure.diagnostics);
                    Ok((encoded, diagnostics))
                }
            }
        }
        .await;
        let (new_state, diagnostics) = match outcome {
            Ok((state, diags)) => (state, diags.to_proto()),
            Err(diags) => (None, diags.to_proto()),
        };
        Ok(Response::new(pb::apply_resource_change::Response {
            new_state,
            private,
            diagnostics,
            ..Default::default()
        }))
    }

    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let request = request.into_inner();
        let result = async {
            let entry = self.resource(&request.type_name)?;
            let client = self.client()?;
            let state = entry.resource.import(&client, &request.id).await?;
            Ok(pb::import_resource_state::ImportedResource {
                type_name: request.type_name.clone(),
                state: Some(self.encode(&entry.ty, &state)?),
                ..Default::default()
            })
        }
        .await;
        let diagnostics = diagnostics_of(&result);
        Ok(Response::new(pb::import_resource_state::Response {
            imported_resources: result.into_iter().collect(),
            diagnostics,
            ..Default::default()
        }))
    }

    async fn move_resource_state(
        &self,
        _: Request<pb::move_resource_state::Request>,
    ) -> Result<Response<pb::move_resource_state::Response>, Status> {
        Err(self.not_offered("MoveResourceState"))
    }

    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let request = request.into_inner();
        let result = async {
            let entry = self.data_source(&request.type_name)?;
            let client = self.client()?;
            let config = self.decode(
                request.config.as_ref(),
                &entry.ty,
                "data source configuration",
            )?;
            let state = entry.data_source.read(&client, &config).await?;
            self.encode(&entry.ty, &state)
        }
        .await;
        let diagnostics = diagnostics_of(&result);
        Ok(Response::new(pb::read_data_source::Response {
            state: result.ok(),
            diagnostics,
            ..Default::default()
        }))
    }

    async fn generate_resource_config(
        &self,
        _: Request<pb::generate_resource_config::Request>,
    ) -> Result<Response<pb::generate_resource_config::Response>, Status> {
        Err(self.not_offered("GenerateResourceConfig"))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        _: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Result<Response<pb::validate_ephemeral_resource_config::Response>, Status> {
        Err(self.not_offered("ephemeral resources"))
    }

    async fn open_ephemeral_resource(
        &self,
        _: Request<pb::open_ephemeral_resource::Request>,
    ) -> Result<Response<pb::open_ephemeral_resource::Response>, Status> {
        Err(self.not_offered("ephemeral resources"))
    }

    async fn renew_ephemeral_resource(
        &self,
        _: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Result<Response<pb::renew_ephemeral_resource::Response>, Status> {
        Err(self.not_offered("ephemeral resources"))
    }

    async fn close_ephemeral_resource(
        &self,
        _: Request<pb::close_ephemeral_resource::Request>,
    ) -> Result<Response<pb::close_ephemeral_resource::Response>, Status> {
        Err(self.not_offered("ephemeral resources"))
    }

    type ListResourceStream = EventStream<pb::list_resource::Event>;

    async fn list_resource(
        &self,
        _: Request<pb::list_resource::Request>,
    ) -> Result<Response<Self::ListResourceStream>, Status> {
        Err(self.not_offered("list resources"))
    }

    async fn validate_list_resource_config(
        &self,
        _: Request<pb::validate_list_resource_config::Request>,
    ) -> Result<Response<pb::validate_list_resource_config::Response>, Status> {
        Err(self.not_offered("list resources"))
    }

    async fn get_functions(
        &self,
        _: Request<pb::get_functions::Request>,
    ) -> Result<Response<pb::get_functions::Response>, Status> {
        Ok(Response::new(pb::get_functions::Response::default()))
    }

    async fn call_function(
        &self,
        _: Request<pb::call_function::Request>,
    ) -> Result<Response<pb::call_function::Response>, Status> {
        Err(self.not_offered("functions"))
    }

    async fn validate_state_store_config(
        &self,
        _: Request<pb::validate_state_store::Request>,
    ) -> Result<Response<pb::validate_state_store::Response>, Status> {
        Err(self.not_offered("state stores"))
    }

    async fn configure_state_store(
        &self,
        _: Request<pb::configure_state_store::Request>,
    ) -> Result<Response<pb::configure_state_store::Response>, Status> {
        Err(self.not_offered("state stores"))
    }

    type ReadStateBytesStream = EventStream<pb::read_state_bytes::Response>;

    async fn read_state_bytes(
        &self,
        _: Request<pb::read_state_bytes::Request>,
    ) -> Result<Response<Self::ReadStateBytesStream>, Status> {
        Err(self.not_offered("state stores"))
    }

    async fn write_state_bytes(
        &self,
        _: Request<tonic::Streaming<pb::write_state_bytes::RequestChunk>>,
    ) -> Result<Response<pb::write_state_bytes::Response>, Status> {
        Err(self.not_offered("state stores"))
    }

    async fn lock_state(
        &self,
        _: Request<pb::lock_state::Request>,
    ) -> Result<Response<pb::lock_state::Response>, Status> {
        Err(self.not_offered("state stores"))
    }

    async fn unlock_state(
        &self,
        _: Request<pb::unlock_state::Request>,
    ) -> Result<Response<pb::unlock_state::Response>, Status> {
        Err(self.not_offered("state stores"))
    }

    async fn get_states(
        &self,
        _: Request<pb::get_states::Request>,
    ) -> Result<Response<pb::get_states::Response>, Status> {
        Err(self.not_offered("state stores"))
    }

    async fn delete_state(
        &self,
        _: Request<pb::delete_state::Request>,
    ) -> Result<Response<pb::delete_state::Response>, Status> {
        Err(self.not_offered("state stores"))
    }

    async fn plan_action(
        &self,
        _: Request<pb::plan_action::Request>,
    ) -> Result<Response<pb::plan_action::Response>, Status> {
        Err(self.not_offered("actions"))
    }

    type InvokeActionStream = EventStream<pb::invoke_action::Event>;

    async fn invoke_action(
        &self,
        _: Request<pb::invoke_action::Request>,
    ) -> Result<Response<Self::InvokeActionStream>, Status> {
        Err(self.not_offered("actions"))
    }

    async fn validate_action_config(
        &self,
        _: Request<pb::validate_action_config::Request>,
    ) -> Result<Response<pb::validate_action_config::Response>, Status> {
        Err(self.not_offered("actions"))
    }

    async fn stop_provider(
        &self,
        _: Request<pb::stop_provider::Request>,
    ) -> Result<Response<pb::stop_provider::Response>, Status> {
        tracing::info!("Terraform asked the provider to stop");
        let _ = self.stop_sender.send(true);
        Ok(Response::new(pb::stop_provider::Response::default()))
    }
}

/// Unknown values cannot be stored in state; a partial state after a failure turns them to null.
fn clear_unknowns(value: Value) -> Value {
    match value {
        Value::Unknown(_) => Value::Null,
        Value::List(items) => Value::List(items.into_iter().map(clear_unknowns).collect()),
        Value::Map(items) => Value::Map(
            items
                .into_iter()
                .map(|(k, v)| (k, clear_unknowns(v)))
                .collect(),
        ),
        other => other,
    }
}
